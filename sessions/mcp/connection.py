"""One MCP server connection: start it (stdio process or streamable HTTP), list its tools,
call them, notice it crashed, restart it once, and stop it.

The SDK's transports and ``ClientSession`` are anyio context managers that must be entered and
left in one task, so each connection owns a background task that holds them open until
``close``. Every wait is bounded by the server's ``timeout``: a server that never answers
``initialize`` or a call costs that long and becomes an error naming it, never a hung turn.

A stdio server runs in its own session (the SDK's choice, so its tree can be killed) under
``setpriv --pdeathsig KILL`` where setpriv exists, so it dies with us even when we are killed
with SIGKILL and ``close`` never runs. Its stderr goes to a log file; the last lines are quoted
when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from opencode.sessions.mcp.specs import ServerSpec

if TYPE_CHECKING:
    from mcp import ClientSession

State = Literal["stopped", "starting", "ready", "failed", "crashed"]
STDERR_TAIL_LINES = 3
LOG_MAX_BYTES = 1 << 20  # checked at each start


class McpServerError(Exception):
    """The server could not be started or stopped answering; the message names it."""


@dataclass(slots=True)
class RemoteTool:
    name: str
    description: str
    schema: Any


@dataclass(slots=True)
class RemotePrompt:
    name: str
    description: str
    arguments: list[tuple[str, bool]]  # (name, required)


@dataclass(slots=True)
class CallOutcome:
    result: Any | None = None  # the SDK's CallToolResult
    error: str | None = None


@dataclass(slots=True)
class McpConnection:
    spec: ServerSpec
    cwd: Path
    log_dir: Path
    state: State = "stopped"
    error: str | None = None
    tools: list[RemoteTool] = field(default_factory=list)
    prompts: list[RemotePrompt] = field(default_factory=list)
    restarts: int = 0
    stray_lines: int = 0  # non-protocol lines the server wrote to stdout
    started_s: float = 0.0  # how long the last start took
    _session: ClientSession | None = None
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event | None = None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"mcp-{self.spec.prefix}.log"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect, initialize and list tools within ``timeout``; raises McpServerError."""
        await self.close()
        self.state, self.error = "starting", None
        began = time.monotonic()
        self._stop = asyncio.Event()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Whoever gave up waiting (a timeout) must not leave "exception never retrieved".
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._task = asyncio.create_task(self._serve(ready, self._stop))
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.spec.timeout)
        except TimeoutError:
            await self.close()
            self._fail(
                f"did not finish starting within {self.spec.timeout:g} s "
                f"(set timeout = ... under [mcp.{self.spec.name}] if it needs longer)"
            )
        except McpServerError as exc:
            await self.close()
            self._fail(str(exc))
        self.state = "ready"
        self.started_s = time.monotonic() - began

    def _fail(self, reason: str) -> None:
        self.state = "failed"
        self.error = self._with_stderr(f"MCP server {self.spec.name!r}: {reason}")
        raise McpServerError(self.error)

    async def close(self) -> None:
        """Stop the server (the SDK closes stdin, waits, then kills its process tree)."""
        task, self._task = self._task, None
        # A ready session leaves through its stop event (the SDK then shuts the server down
        # in order); one still starting is stuck in initialize: cancel it at once.
        graceful = self._session is not None
        self._session = None
        if self._stop is not None:
            self._stop.set()
        if task is not None and not task.done():
            if not graceful:
                task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(task), 8.0)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            except BaseException:  # noqa: BLE001 - its failure was reported when it happened
                pass
        if self.state in ("ready", "starting"):
            self.state = "stopped"

    async def _serve(self, ready: asyncio.Future[None], stop: asyncio.Event) -> None:
        from mcp import ClientSession
        from mcp_types import Implementation

        _quiet_sdk_logging()
        try:
            async with (
                self._transport() as (read, write),
                ClientSession(
                    read,
                    write,
                    message_handler=self._on_message,
                    client_info=Implementation(name="opencode", version="0"),
                ) as session,
            ):
                await session.initialize()
                self.tools = await _list_tools(session)
                self.prompts = await _list_prompts(session)
                self._session = session
                ready.set_result(None)
                await stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.set_exception(McpServerError("start was cancelled"))
            raise
        except BaseException as exc:  # noqa: BLE001 - reported through ``ready`` or later calls
            if not ready.done():
                ready.set_exception(McpServerError(_describe(exc, self.spec)))
            elif self.state == "ready":
                self.state, self.error = "crashed", _describe(exc, self.spec)
        finally:
            self._session = None

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[tuple[Any, Any]]:
        if self.spec.transport == "http":
            import httpx2
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            client = create_mcp_http_client(
                headers=dict(self.spec.headers),
                timeout=httpx2.Timeout(self.spec.timeout, read=max(self.spec.timeout, 300.0)),
            )
            async with client, streamable_http_client(self.spec.url, http_client=client) as pair:
                yield pair[0], pair[1]
            return
        from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client

        env = get_default_environment() | self.spec.env
        program = shutil.which(self.spec.command, path=env.get("PATH"))
        if program is None:
            raise McpServerError(
                f"command {self.spec.command!r} was not found on PATH; "
                f"install it or fix command = ... in {self.spec.source}"
            )
        argv = _die_with_parent([program, *self.spec.args])
        cwd = Path(self.spec.cwd).expanduser() if self.spec.cwd else self.cwd
        params = StdioServerParameters(
            command=argv[0], args=argv[1:], env=env, cwd=str(cwd), encoding_error_handler="replace"
        )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _rotate(self.log_path)
        # A small local append, once per start; the SDK needs a real file (a fileno) here.
        with open(self.log_path, "a", encoding="utf-8") as errlog:  # noqa: ASYNC230
            errlog.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} start {argv!r}\n")
            errlog.flush()
            async with stdio_client(params, errlog=errlog) as pair:
                yield pair[0], pair[1]

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.stray_lines += 1  # garbage on stdout: the SDK skips the line, we count it

    # ------------------------------------------------------------------ calls

    async def call(
        self, tool: str, arguments: dict[str, Any], cancel: asyncio.Event | None = None
    ) -> CallOutcome:
        """Call ``tool``; every failure (crash, timeout, protocol error) becomes ``error``."""
        if self.state == "ready" and self._connection_closed():
            # It died between calls: count it as a crash, so this call gets the one restart.
            await self.close()
            self.state, self.error = "crashed", "the server exited between calls"
        if self.state == "crashed" and self.restarts < 1:
            self.restarts += 1
            try:
                await self.start()
            except McpServerError as exc:
                return CallOutcome(error=f"{exc} (restart after a crash failed)")
        session = self._session
        if self.state != "ready" or session is None:
            why = self.error or f"it is {self.state}"
            again = " It crashed twice and is not restarted again." if self.restarts else ""
            return CallOutcome(
                error=f"MCP server {self.spec.name!r} is not available: {why}.{again}"
            )
        timeout = self.spec.timeout
        call = asyncio.ensure_future(
            session.call_tool(tool, arguments, read_timeout_seconds=timeout)
        )
        waiters: set[asyncio.Future[Any]] = {call}
        cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        if cancelled is not None:
            waiters.add(cancelled)
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=timeout + 2.0, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if cancelled is not None:
                cancelled.cancel()
        if call not in done:
            call.cancel()
            with contextlib.suppress(BaseException):
                await call
            if cancelled is not None and cancelled in done:
                return CallOutcome(error=f"{self.spec.name}_{tool}: cancelled")
            return CallOutcome(error=self._timeout_message(tool))
        failure = call.exception()
        if failure is None:
            return CallOutcome(result=call.result())
        from mcp.shared.exceptions import MCPError
        from mcp_types import REQUEST_TIMEOUT

        if isinstance(failure, MCPError) and failure.code == REQUEST_TIMEOUT:
            return CallOutcome(error=self._timeout_message(tool))
        if isinstance(failure, MCPError) and "Connection closed" in str(failure):
            self.state = "crashed"
            self.error = "the server exited"
            await self.close()
            self.state = "crashed"
            next_step = (
                "it will be restarted for the next call"
                if self.restarts < 1
                else "it already crashed once and will not be restarted"
            )
            return CallOutcome(
                error=self._with_stderr(
                    f"MCP server {self.spec.name!r} crashed during {tool!r}; {next_step}"
                )
            )
        return CallOutcome(
            error=f"MCP server {self.spec.name!r}: {tool}: {_describe(failure, self.spec)}"
        )

    def _connection_closed(self) -> bool:
        """Has the SDK seen the server's end of the connection close? (Its dispatcher's
        private flag; where it is missing the next call finds out instead.)"""
        dispatcher = getattr(self._session, "_dispatcher", None)
        return bool(getattr(dispatcher, "_closed", False))

    def _timeout_message(self, tool: str) -> str:
        return (
            f"MCP server {self.spec.name!r} did not answer {tool!r} within "
            f"{self.spec.timeout:g} s; the call was abandoned (timeout = ... under "
            f"[mcp.{self.spec.name}] changes the limit)"
        )

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> str:
        """A prompt's messages as text (for ``/SERVER:prompt``); raises McpServerError."""
        session = self._session
        if session is None:
            raise McpServerError(f"MCP server {self.spec.name!r} is not running")
        try:
            result = await asyncio.wait_for(
                session.get_prompt(name, arguments or None), self.spec.timeout
            )
        except TimeoutError:
            raise McpServerError(self._timeout_message(name)) from None
        except Exception as exc:  # noqa: BLE001 - shown to the user
            raise McpServerError(
                f"MCP server {self.spec.name!r}: {name}: {_describe(exc, self.spec)}"
            ) from None
        parts = []
        for message in result.messages:
            text = getattr(message.content, "text", None)
            parts.append(text if isinstance(text, str) else f"[{message.content.type} content]")
        return "\n\n".join(parts)

    async def list_resources(self) -> list[tuple[str, str, str]]:
        """(uri, name, description) of each resource; raises McpServerError."""
        session = self._session
        if session is None:
            raise McpServerError(f"MCP server {self.spec.name!r} is not running")
        try:
            result = await asyncio.wait_for(session.list_resources(), self.spec.timeout)
        except Exception as exc:  # noqa: BLE001 - not every server has resources
            raise McpServerError(
                f"MCP server {self.spec.name!r}: resources: {_describe(exc, self.spec)}"
            ) from None
        return [(str(r.uri), r.name, r.description or "") for r in result.resources]

    def _with_stderr(self, message: str) -> str:
        tail = self.stderr_tail()
        if tail:
            message += f" (its stderr: {tail}; full log: {self.log_path})"
        if self.stray_lines:
            message += f" (it wrote {self.stray_lines} non-protocol line(s) to stdout)"
        from opencode.sessions.secrets import scrub

        return scrub(message, self.spec.secrets())

    def stderr_tail(self) -> str:
        if self.spec.transport != "stdio":
            return ""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, os.path.getsize(self.log_path) - 4096))
                lines = handle.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        for i in range(len(lines) - 1, -1, -1):
            if lines[i].startswith("--- ") and " start " in lines[i]:
                lines = lines[i + 1 :]
                break
        lines = [line.strip() for line in lines if line.strip()]
        return " | ".join(lines[-STDERR_TAIL_LINES:])[:400]


async def _list_tools(session: ClientSession) -> list[RemoteTool]:
    found: list[RemoteTool] = []
    cursor: str | None = None
    for _ in range(100):  # a server that pages forever is cut off
        from mcp_types import PaginatedRequestParams

        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        found += [RemoteTool(t.name, t.description or "", t.input_schema) for t in page.tools]
        cursor = page.next_cursor
        if not cursor:
            break
    return found


async def _list_prompts(session: ClientSession) -> list[RemotePrompt]:
    caps = session.server_capabilities if hasattr(session, "server_capabilities") else None
    if caps is not None and getattr(caps, "prompts", None) is None:
        return []
    try:
        result = await session.list_prompts()
    except Exception:  # noqa: BLE001 - prompts are optional
        return []
    return [
        RemotePrompt(
            p.name,
            p.description or "",
            [(a.name, bool(a.required)) for a in (p.arguments or [])],
        )
        for p in result.prompts
    ]


def _describe(exc: BaseException, spec: ServerSpec) -> str:
    """The innermost meaningful error of an anyio exception group, as one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    from opencode.sessions.secrets import scrub

    text = str(exc) or type(exc).__name__
    if isinstance(exc, McpServerError):
        return scrub(text, spec.secrets())
    if "Connection closed" in text:
        return "the server closed the connection (it exited or crashed)"
    return scrub(
        f"{text}" if type(exc).__name__ in text else f"{type(exc).__name__}: {text}", spec.secrets()
    )


def _die_with_parent(argv: list[str]) -> list[str]:
    """``argv`` under ``setpriv --pdeathsig KILL`` on Linux where setpriv exists: the kernel
    kills the server when opencode dies, even by SIGKILL. (The bash tool's supervisor script
    cannot be reused: a backgrounded job's stdin is /dev/null, and stdio is the protocol.)"""
    if not sys.platform.startswith("linux"):
        return argv
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


def _rotate(path: Path) -> None:
    """A chatty server must not fill the disk: past LOG_MAX_BYTES the log becomes ``.1``
    (replacing the previous one) and a new one starts."""
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_MAX_BYTES:
            path.replace(path.with_suffix(".log.1"))


def _quiet_sdk_logging() -> None:
    """The SDK logs a traceback per unparsable stdout line; we count them and say so once."""
    logger = logging.getLogger("mcp")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
