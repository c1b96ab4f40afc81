"""Running git: the one place that starts a git process.

Target sync, backlog reality sync (and later rewind/snapshots) all call ``run_git``/``git``.
Every call is asynchronous, so a slow repository never freezes the TUI's event loop; its stdin
is closed (git can never wait on a prompt); it runs in its own process group, which is killed
on timeout or cancellation so no hook or credential helper outlives it; and it has one time
limit (``GIT_TIMEOUT_S``, overridable per call). Failures map to one small hierarchy of
``GitError`` whose messages name the command and the repository and say what to do.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from opencode.sessions.processes import spawn

# A hung git (a lock, a credential helper, a network filesystem) must not hang a sync, or the
# TUI worker running it, forever. Read at call time, so tests and callers may lower it.
GIT_TIMEOUT_S = 60.0
# Long enough to name any command; a long argument list (an octopus merge-base) is cut.
_COMMAND_CHARS = 160


class GitError(Exception):
    """git could not do what was asked; ``str()`` is a message for the user."""

    def __init__(self, message: str, repo: Path, args: tuple[str, ...]) -> None:
        super().__init__(message)
        self.repo = repo
        self.git_args = args

    @property
    def command(self) -> str:
        return command_text(self.git_args)


class GitNotFound(GitError):
    """No ``git`` executable on PATH."""


class NotARepository(GitError):
    """The folder is missing or not inside a git work tree."""


class GitTimeout(GitError):
    """The command ran past its time limit and was killed with its process group."""


class GitFailed(GitError):
    """git ran and exited non-zero; ``stderr`` holds what it said."""

    def __init__(
        self, message: str, repo: Path, args: tuple[str, ...], returncode: int, stderr: str
    ) -> None:
        super().__init__(message, repo, args)
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True, slots=True)
class GitResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def command_text(args: tuple[str, ...]) -> str:
    text = "git " + " ".join(args)
    return text if len(text) <= _COMMAND_CHARS else text[: _COMMAND_CHARS - 1] + "…"


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # Never ask for credentials on a terminal we do not own; messages in English so that
    # "not a git repository" can be recognised whatever the user's locale.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    return env


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """Kill git and everything it started (hooks, helpers: its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
    # shielded: a second cancellation must not leave a zombie behind
    await asyncio.shield(proc.wait())


async def run_git(
    repo: Path, *args: str, limit_s: float | None = None, check: bool = True
) -> GitResult:
    """``git -C repo ARGS``. With ``check`` a non-zero exit raises ``GitFailed`` (or
    ``NotARepository``); without it the caller reads ``returncode``. A missing git, a missing
    folder and a timeout always raise."""
    limit = GIT_TIMEOUT_S if limit_s is None else limit_s
    repo = Path(repo)
    where = command_text(args)
    if not repo.is_dir():
        raise NotARepository(
            f"{where}: folder {repo} does not exist; point to an existing git checkout",
            repo,
            args,
        )
    try:
        proc = await spawn(
            lambda: asyncio.create_subprocess_exec(
                "git",
                "-C",
                str(repo),
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_environment(),
                start_new_session=True,
            )
        )
    except FileNotFoundError as exc:
        raise GitNotFound(
            f"git is not installed or not on PATH (needed for `{where}` in {repo}); install git",
            repo,
            args,
        ) from exc
    except OSError as exc:
        raise GitNotFound(
            f"cannot start git for `{where}` in {repo}: {exc}; check the git installation",
            repo,
            args,
        ) from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError:
        await _kill_group(proc)
        raise GitTimeout(
            f"{where} in {repo} did not finish within {limit:g} s and was stopped; check the "
            "repository (a lock file such as .git/index.lock, a huge history, a hung "
            "credential helper), then retry",
            repo,
            args,
        ) from None
    except BaseException:
        # cancelled (Ctrl-C, a closed TUI worker): git must not outlive the caller
        await _kill_group(proc)
        raise
    result = GitResult(
        args,
        proc.returncode if proc.returncode is not None else -1,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
    )
    if check and not result.ok:
        raise _failure(repo, result)
    return result


def _failure(repo: Path, result: GitResult) -> GitError:
    where = command_text(result.args)
    said = result.stderr.strip() or result.stdout.strip() or "no output"
    if "not a git repository" in result.stderr.lower():
        return NotARepository(
            f"{where}: {repo} is not inside a git repository; run it in a git checkout or "
            "point to one",
            repo,
            result.args,
        )
    return GitFailed(
        f"{where} failed in {repo} (exit {result.returncode}): {said[-2000:]}",
        repo,
        result.args,
        result.returncode,
        result.stderr,
    )


async def git(repo: Path, *args: str, limit_s: float | None = None) -> str:
    """stdout of ``git -C repo ARGS``; any failure raises a ``GitError``."""
    return (await run_git(repo, *args, limit_s=limit_s)).stdout
