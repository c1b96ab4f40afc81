"""The seccomp filter bwrap installs when the sandbox has no network: no AF_UNIX sockets.

A private network namespace cuts TCP/UDP, but a Unix socket file on the read-only host tree
(``/var/run/docker.sock``, an agent socket under ``$HOME``) can still be connected to, and
that is a way out. So ``socket(AF_UNIX, ...)`` fails with EACCES (``socketpair`` still works:
it reaches nothing outside). Syscalls of a foreign ABI (32-bit, x32) could go around a filter
written for the native numbers, so they fail with ENOSYS. Hand-assembled classic BPF for
x86_64 and aarch64; on other machines no filter (``program`` returns None).
"""

from __future__ import annotations

import os
import platform
import struct

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SOCKET_NR = {"x86_64": 41, "aarch64": 198}
_X32_BIT = 0x40000000
_AF_UNIX = 1
_EACCES = 13
_ENOSYS = 38

_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000


def program(machine: str | None = None) -> bytes | None:
    """The filter as the bytes of a ``struct sock_filter`` array, or None for this machine."""
    machine = machine or platform.machine()
    arch = _AUDIT_ARCH.get(machine)
    if arch is None:
        return None
    deny_unix = _ERRNO | _EACCES
    foreign = _ERRNO | _ENOSYS
    # (code, jump-if-true, jump-if-false, k); jumps count instructions after this one.
    insns = [
        (_LD_W_ABS, 0, 0, 4),  # 0: arch
        (_JEQ_K, 1, 0, arch),  # 1: native -> 3
        (_RET_K, 0, 0, foreign),  # 2
        (_LD_W_ABS, 0, 0, 0),  # 3: syscall number
        (_JGE_K, 0, 1, _X32_BIT),  # 4: x32 ABI -> 5, else 6
        (_RET_K, 0, 0, foreign),  # 5
        (_JEQ_K, 0, 3, _SOCKET_NR[machine]),  # 6: socket -> 7, else allow (10)
        (_LD_W_ABS, 0, 0, 16),  # 7: args[0], low 32 bits (little-endian)
        (_JEQ_K, 0, 1, _AF_UNIX),  # 8: AF_UNIX -> 9, else allow (10)
        (_RET_K, 0, 0, deny_unix),  # 9
        (_RET_K, 0, 0, _ALLOW),  # 10
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in insns)


def program_fd() -> int | None:
    """A pipe's read end holding the filter, for ``bwrap --seccomp FD``; the caller closes it."""
    code = program()
    if code is None:
        return None
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, code)  # a few hundred bytes: fits the pipe buffer
    finally:
        os.close(write_fd)
    return read_fd
