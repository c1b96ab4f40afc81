"""The ``bash`` tool: one command in ``/bin/bash -c``, in the working directory.

The command runs in its own session (so its own process group); stdout and stderr share one
pipe, read as it arrives into a bounded capture (the first and last ``KEEP_BYTES``), so memory
stays flat whatever the command prints. On timeout, cancellation (``ctx.cancel``) or the task
being cancelled, the whole group gets SIGTERM and, shortly after, SIGKILL, so children die too.

Where a sandbox is available (``sandbox``: bubblewrap on Linux) the command runs inside it;
the result's metadata says which mode applied (``sandbox``, ``sandbox_mode``).

Dying with opencode, even on ``kill -9``: the direct child is a small bash supervisor with
``PR_SET_PDEATHSIG`` = SIGUSR1 (set by ``setpriv``, else a ctypes ``prctl``; no Python
``preexec_fn`` where setpriv exists). On that signal it SIGKILLs its process group: the
command, bwrap (which has ``--die-with-parent`` too) and everything they started during the
call. Background jobs from calls that already returned are left alone, as documented below.

When the shell exits normally, background children it started keep running (a dev server
started with ``&`` is what was asked for); we read their output for ``DRAIN_GRACE_S`` more
and then stop reading. stdin is /dev/null, so nothing waits for input.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opencode.sessions.config import SandboxConfig, active_sandbox
from opencode.sessions.tools.base import (
    OutputSink,
    PermissionSubject,
    ToolContext,
    ToolError,
    ToolResult,
)
from opencode.sessions.tools.sandbox import SandboxMode

DEFAULT_TIMEOUT_S = 120
MAX_TIMEOUT_S = 600
KEEP_BYTES = 15 * 1024
DRAIN_GRACE_S = 0.5
TERM_GRACE_S = 0.5
_CHUNK = 64 * 1024


class _Capture:
    """The first and last KEEP_BYTES of a stream, and how much was dropped between them."""

    def __init__(self, keep: int = KEEP_BYTES) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.keep:  # trim in batches: amortised O(1) per byte
                del self.tail[: len(self.tail) - self.keep]

    def text(self) -> str:
        tail = bytes(self.tail[-self.keep :]) if self.tail else b""
        omitted = self.total - len(self.head) - len(tail)
        parts = [bytes(self.head).decode("utf-8", errors="replace")]
        if omitted > 0:
            parts.append(f"\n[... {omitted} bytes omitted ...]\n")
        parts.append(tail.decode("utf-8", errors="replace"))
        return "".join(parts)

    @property
    def omitted(self) -> int:
        return max(0, self.total - len(self.head) - min(len(self.tail), self.keep))


class BashTool:
    name = "bash"
    description = (
        "Run a shell command with /bin/bash -c in the working directory and return its "
        "combined stdout and stderr and its exit code. Non-interactive: stdin is empty, so "
        "never run commands that wait for input (editors, pagers, `git rebase -i`). Output "
        f"beyond {KEEP_BYTES // 1024} KB at either end is cut from the middle; pipe through "
        "`head`, `tail` or `grep` when you expect a lot. Prefer the read, grep, glob and list "
        "tools for looking at files. `timeout` is in seconds (default "
        f"{DEFAULT_TIMEOUT_S}, at most {MAX_TIMEOUT_S}); on timeout the command and its "
        "children are killed. Commands usually run in a sandbox: only the working directory "
        "and /tmp are writable (not .git/hooks, .git/config or opencode.toml) and the network "
        "is off; if a command fails for that reason, say so rather than work around it."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The command line to run."},
            "timeout": {
                "type": "number",
                "minimum": 1,
                "maximum": MAX_TIMEOUT_S,
                "description": f"Seconds before the command is killed (default "
                f"{DEFAULT_TIMEOUT_S}).",
            },
        },
        "required": ["command"],
    }

    def __init__(self, sandbox: SandboxConfig | None = None) -> None:
        # None: the [sandbox] section of the loaded config, read when a command runs.
        self.sandbox = sandbox

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return PermissionSubject(str(args.get("command", "")).strip())

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ToolError("argument 'command' must be a non-empty command line")
        timeout = float(args.get("timeout") or DEFAULT_TIMEOUT_S)
        if not 0 < timeout <= MAX_TIMEOUT_S:
            raise ToolError(f"timeout must be between 1 and {MAX_TIMEOUT_S} seconds")
        if not ctx.cwd.is_dir():
            raise ToolError(f"working directory {ctx.cwd} does not exist")
        if ctx.cancel.is_set():
            return ToolResult(
                "cancelled before the command started", is_error=True, metadata={"cancelled": True}
            )
        config = self.sandbox or active_sandbox()
        return await run_command(
            command,
            ctx.cwd,
            timeout,
            ctx.cancel,
            mode_for(command, config, ctx.cwd),
            config,
            on_output=ctx.on_output,
        )


def mode_for(command: str, config: SandboxConfig, cwd: Path) -> SandboxMode:
    """The sandbox mode this command runs in: network on when config or a rule allows it."""
    from opencode.sessions.tools.bashparse import network_allowed
    from opencode.sessions.tools.sandbox import sandbox_mode

    network = config.network or network_allowed(command, config.network_commands, cwd)
    return sandbox_mode(config, cwd, network)


async def run_command(
    command: str,
    cwd: Path,
    limit_s: float,
    cancel: asyncio.Event,
    mode: SandboxMode | None = None,
    config: SandboxConfig | None = None,
    *,
    on_output: OutputSink | None = None,
) -> ToolResult:
    """Run ``command``; ``mode`` None means unsandboxed (with the parent-death signal).
    Sandboxed, changes it made to the project's protected files are undone afterwards
    (``protected``), and the result says so. ``on_output`` gets each chunk read from the
    command's stdout and stderr as it arrives (for live display)."""
    if mode is None or not mode.sandboxed:
        return await _run(command, cwd, limit_s, cancel, mode, config, on_output)
    from opencode.sessions.tools.protected import Guard, undo_note
    from opencode.sessions.tools.sandbox import guarded_outside

    guard = Guard(cwd, guarded_outside(cwd), restore_existing=mode.kind != "bwrap")
    try:
        result = await _run(command, cwd, limit_s, cancel, mode, config, on_output)
    finally:
        undone = guard.undo()  # also when we were cancelled: nothing created may stay
    if undone:
        result.output = f"{result.output}\n{undo_note(undone)}"
        result.metadata["undone"] = undone
    return result


async def _run(
    command: str,
    cwd: Path,
    limit_s: float,
    cancel: asyncio.Event,
    mode: SandboxMode | None,
    config: SandboxConfig | None,
    on_output: OutputSink | None = None,
) -> ToolResult:
    from opencode.sessions.processes import spawn
    from opencode.sessions.tools.sandbox import filters_unix_sockets, wrap

    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    from opencode.sessions.config import secret_env_names

    # Provider keys stay out of commands the model runs: `env` would send them to the model,
    # the database and exports.
    hidden = secret_env_names()
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env.update(PAGER="cat", GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0")
    argv = ["/bin/bash", "-c", command]
    pass_fds: list[int] = []
    if mode is not None and mode.sandboxed:
        if filters_unix_sockets(mode, config or SandboxConfig()):
            from opencode.sessions.tools.seccomp import program_fd

            fd = program_fd()
            pass_fds = [fd] if fd is not None else []
        seccomp = pass_fds[0] if pass_fds else None
        argv = wrap(mode, config or SandboxConfig(), cwd, argv, seccomp)
    argv, preexec = _die_with_parent(argv)
    try:
        proc = await spawn(
            lambda: asyncio.create_subprocess_exec(
                *argv,
                cwd=str(cwd),
                preexec_fn=preexec,
                pass_fds=pass_fds,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                start_new_session=True,
                env=env,
            )
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)  # the child holds its copies; EOF comes when they all close
        for fd in pass_fds:
            os.close(fd)

    reader = asyncio.StreamReader(limit=_CHUNK)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    capture = _Capture()

    async def pump() -> None:
        while chunk := await reader.read(_CHUNK):
            capture.feed(chunk)
            if on_output is not None:
                on_output(chunk)

    pump_task = asyncio.create_task(pump())
    exit_task = asyncio.create_task(proc.wait())
    cancel_task = asyncio.create_task(cancel.wait())
    outcome = "exit"
    try:
        done, _ = await asyncio.wait(
            {exit_task, cancel_task}, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED
        )
        if exit_task not in done:
            outcome = "cancelled" if cancel_task in done else "timeout"
            await _kill_group(proc, exit_task)
        # After the shell exits, finish reading what is in the pipe; background children
        # that still hold it open are not waited for.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pump_task), DRAIN_GRACE_S)
        still_reading = not pump_task.done()
    finally:
        if proc.returncode is None:  # we were cancelled ourselves: leave nothing running
            _signal_group(proc.pid, signal.SIGKILL)
        for task in (pump_task, exit_task, cancel_task):
            task.cancel()
        transport.close()

    code = proc.returncode
    body = capture.text()
    meta: dict[str, Any] = {
        "sandbox": mode.kind if mode is not None else "none",
        "sandbox_mode": mode.describe() if mode is not None else "bash unsandboxed",
        "exit_code": code,
        "output_bytes": capture.total,
        "omitted_bytes": capture.omitted,
    }
    if not body:
        body = "(no output)\n"
    elif not body.endswith("\n"):
        body += "\n"
    if outcome == "timeout":
        meta["timed_out"] = True
        return ToolResult(
            f"{body}\ncommand timed out after {_seconds(limit_s)}s and was killed "
            "(with its child processes); run it with a larger timeout or in smaller steps",
            is_error=True,
            metadata=meta,
        )
    if outcome == "cancelled":
        meta["cancelled"] = True
        return ToolResult(f"{body}\ncancelled", is_error=True, metadata=meta)
    note = ""
    if still_reading:
        note = "(background processes still running; their further output is not shown)\n"
    return ToolResult(f"{body}{note}[exit code {code}]", metadata=meta)


async def _kill_group(proc: asyncio.subprocess.Process, exit_task: asyncio.Task[int]) -> None:
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exit_task), TERM_GRACE_S)
    # Children may ignore SIGTERM or outlive the shell; the group id outlives its leader.
    _signal_group(proc.pid, signal.SIGKILL)
    await asyncio.shield(exit_task)


# Runs the command in the background and waits; SIGUSR1 (our death, by PR_SET_PDEATHSIG)
# kills the whole process group. `wait` returns early on a trapped signal, hence the loop.
_SUPERVISOR = (
    "trap 'kill -KILL 0' USR1; \"$@\" & child=$!; "
    "while :; do wait $child; rc=$?; kill -0 $child 2>/dev/null || exit $rc; done"
)


def _die_with_parent(argv: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """``argv`` under a supervisor that takes its process group down when we die: the
    parent-death signal is set by setpriv where present (no preexec_fn, which is unsafe with
    threads), else by a ctypes prctl in the child. Off Linux neither exists: argv as is."""
    if not sys.platform.startswith("linux"):
        return argv, None
    supervised = ["/bin/bash", "-c", _SUPERVISOR, "opencode-bash", *argv]
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "USR1", "--", *supervised], None
    return supervised, _prctl_pdeathsig


def _prctl_pdeathsig() -> None:
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGUSR1, 0, 0, 0)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
