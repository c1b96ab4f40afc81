"""The seccomp filter bwrap installs in the sandbox (network on or off): no AF_UNIX sockets.

A Unix socket file on the read-only host tree (``/var/run/docker.sock``, an agent socket
under ``$HOME``, ``/run/user/UID/bus``) can be connected to, and so can an abstract one (X11,
dbus) whenever the network namespace is the host's: each is a way out (``systemd-run --user``
runs anything). So ``socket(AF_UNIX, ...)`` fails with EACCES (``socketpair`` still works: it
reaches nothing outside). TCP/UDP are untouched: the network namespace decides those. glibc's
name lookups try nscd's and systemd-resolved's sockets first and fall back to
``/etc/resolv.conf`` when ``socket`` fails, so ``getaddrinfo`` keeps working. ``io_uring_setup``
fails with ENOSYS: an io_uring ``SOCKET`` op would create the socket without the syscall this
filter sees (callers fall back to plain syscalls). Syscalls of a foreign ABI (32-bit, x32)
could go around a filter written for the native numbers, so they fail with ENOSYS too.
Hand-assembled classic BPF for x86_64 and aarch64; on other machines no filter (``program``
returns None). ``[sandbox] unix_sockets = true`` leaves the filter out (``sandbox``).
"""

from __future__ import annotations

import os
import platform
import struct

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SOCKET_NR = {"x86_64": 41, "aarch64": 198}
_IO_URING_SETUP_NR = 425  # the same on both: numbered after the syscall tables were unified
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
    nosys = _ERRNO | _ENOSYS
    # (code, jump-if-true, jump-if-false, k); jumps count instructions after this one.
    insns = [
        (_LD_W_ABS, 0, 0, 4),  # 0: arch
        (_JEQ_K, 1, 0, arch),  # 1: native -> 3
        (_RET_K, 0, 0, nosys),  # 2
        (_LD_W_ABS, 0, 0, 0),  # 3: syscall number
        (_JGE_K, 0, 1, _X32_BIT),  # 4: x32 ABI -> 5, else 6
        (_RET_K, 0, 0, nosys),  # 5
        (_JEQ_K, 0, 1, _IO_URING_SETUP_NR),  # 6: io_uring_setup -> 7, else 8
        (_RET_K, 0, 0, nosys),  # 7
        (_JEQ_K, 0, 3, _SOCKET_NR[machine]),  # 8: socket -> 9, else allow (12)
        (_LD_W_ABS, 0, 0, 16),  # 9: args[0], low 32 bits (little-endian)
        (_JEQ_K, 0, 1, _AF_UNIX),  # 10: AF_UNIX -> 11, else allow (12)
        (_RET_K, 0, 0, deny_unix),  # 11
        (_RET_K, 0, 0, _ALLOW),  # 12
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
