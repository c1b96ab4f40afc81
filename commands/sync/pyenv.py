"""The target's Python environment: which files a distribution owns there, and installing the
source into it with pip (offline: ``--no-deps --no-build-isolation --no-index``)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from opencode.commands.registry import CommandError
from opencode.sessions.processes import spawn

OUTPUT_LIMIT = 8000
PIP_LOG_LIMIT = 2_000_000
DIST_FILES_TIMEOUT_S = 60.0

_DIST_FILES = r"""
import importlib.metadata as m, json, os, sys
try:
    d = m.distribution(sys.argv[1])
except m.PackageNotFoundError:
    print("null")
    raise SystemExit(0)
files = sorted({os.path.normpath(str(f.locate())) for f in (d.files or [])})
print(json.dumps({"version": d.version, "files": files}))
"""


@dataclass(frozen=True, slots=True)
class ProcResult:
    argv: list[str]
    returncode: int
    output: str
    duration_ms: int
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def isolated(python: str, code: str, *args: str) -> list[str]:
    """argv for a probe ``python -I -c CODE ARGS``: isolated mode keeps the working folder (a
    target's, which may hold an ``opencode/`` or ``sessions/`` of its own), PYTHON* variables
    and the user site off sys.path, so the probe imports only what the interpreter owns."""
    return [python, "-I", "-c", code, *args]


def tail(text: str, limit: int = OUTPUT_LIMIT) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


async def run_proc(
    argv: list[str],
    cwd: Path,
    limit_s: float = 600.0,
    env: dict[str, str] | None = None,
    shell: bool = False,
    output_limit: int = OUTPUT_LIMIT,
) -> ProcResult:
    """Run a process (stdout+stderr captured together), killing it on timeout."""
    started = time.monotonic()
    full_env = {**os.environ, **(env or {})}
    try:
        if shell:
            proc = await spawn(
                lambda: asyncio.create_subprocess_shell(
                    argv[0],
                    cwd=cwd,
                    env=full_env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    stdin=asyncio.subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        else:
            proc = await spawn(
                lambda: asyncio.create_subprocess_exec(
                    *argv,
                    cwd=cwd,
                    env=full_env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    stdin=asyncio.subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
    except OSError as exc:
        return ProcResult(
            argv, 127, f"cannot start {argv[0]}: {exc}", int((time.monotonic() - started) * 1000)
        )
    timed_out = False
    chunks: list[bytes] = []
    try:
        await asyncio.wait_for(_read_all(proc, chunks), limit_s)
    except TimeoutError:
        timed_out = True
        await _kill_group(proc)
    except BaseException:
        # cancelled (Ctrl-C, a caller's timeout): the process must not outlive us
        await _kill_group(proc)
        raise
    text = b"".join(chunks).decode("utf-8", errors="replace")
    if timed_out:
        text += f"\n(timed out after {limit_s:g} s: killed it and every process it started)"
    return ProcResult(
        argv,
        proc.returncode if proc.returncode is not None else -1,
        tail(text, output_limit),
        int((time.monotonic() - started) * 1000),
        timed_out,
    )


async def _read_all(proc: asyncio.subprocess.Process, chunks: list[bytes]) -> None:
    # Read into a list the caller keeps, so output before a timeout is not lost.
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(65536):
        chunks.append(chunk)
    await proc.wait()


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """Kill the process and everything it started (its own session): killing only a shell
    leaves a grandchild holding the output pipe open, and the read never ends."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone
    # shield: a second cancellation must not leave a zombie behind
    await asyncio.shield(proc.wait())


def check_python(python: str) -> None:
    path = Path(python)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise CommandError(
            f"target python {python} does not exist or is not executable; "
            "fix it with `opencode target add NAME --path P --python PATH` (remove and re-add)"
        )


def dist_files(python: str, dist: str) -> list[str] | None:
    """Absolute paths of the files ``dist`` owns in ``python``'s environment; None if absent.
    Blocking (a subprocess): async callers run it in a worker thread (``asyncio.to_thread``)."""
    try:
        proc = subprocess.run(
            isolated(python, _DIST_FILES, dist),
            capture_output=True,
            text=True,
            timeout=DIST_FILES_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(
            f"{python} did not list the files of {dist} within {DIST_FILES_TIMEOUT_S:g} s "
            "and was stopped; check that the target's --python starts normally"
        ) from exc
    except OSError as exc:
        raise CommandError(f"cannot run {python}: {exc}; check the target's --python") from exc
    if proc.returncode != 0:
        raise CommandError(
            f"cannot inspect {dist} in {python}: {proc.stderr.strip()[-500:]}; "
            "check the target's --python"
        )
    data = json.loads(proc.stdout or "null")
    if data is None:
        return None
    return [str(p) for p in data["files"]]


def pip_excerpt(output: str, before: int = 4, limit: int = 40) -> str:
    """The lines of pip's output that say why it failed: every ``ERROR``/``error:`` line with
    the few lines before it (pip's reason often sits just above, e.g. a build backend's
    traceback tail); the whole output's end when there is no such line."""
    lines = output.splitlines()
    marks = [
        i
        for i, line in enumerate(lines)
        if line.lstrip().startswith(("ERROR", "error:", "× ", "╰─>"))
    ]
    if not marks:
        return "\n".join(lines[-limit:])
    keep: set[int] = set()
    for i in marks:
        keep.update(range(max(0, i - before), i + 1))
        j = i + 1
        if j < len(lines) and lines[j].startswith("Traceback"):
            # "ERROR: Exception:" then a (maybe chained) traceback: the reasons are its
            # unindented lines ("ModuleNotFoundError: ..."), the frames are noise
            end = min(len(lines), j + 200)
            for k in range(j, end):
                line = lines[k]
                if line.strip() and not line.startswith((" ", "Traceback")):
                    keep.add(k)
                    follows = lines[k + 1] if k + 1 < len(lines) else ""
                    if not follows.startswith((" ", "Traceback", "During", "The above")):
                        break
            continue
        # pip prints the reason on indented lines after "× ..." / "╰─>"
        while j < len(lines) and lines[j].startswith(" ") and j - i <= 8:
            keep.add(j)
            j += 1
    chosen = sorted(keep)
    out: list[str] = []
    for n, i in enumerate(chosen):
        if n and i != chosen[n - 1] + 1:
            out.append("…")
        out.append(lines[i])
    return "\n".join(out[-limit:])


def bin_dir(python: str) -> Path:
    """Where console scripts of ``python``'s environment live (the folder of the interpreter)."""
    return Path(python).parent


def copy_tree(source: Path, files: list[str], dest: Path) -> None:
    """Copy ``files`` (paths relative to ``source``) to ``dest``; blocking, for a worker
    thread. Missing files (deleted, not committed) and symlinks leaving the tree are skipped."""
    for rel in files:
        src_path = source / rel
        if not src_path.is_file():
            continue
        if src_path.is_symlink() and not src_path.resolve().is_relative_to(source.resolve()):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src_path, target)


async def pip_install(
    python: str, source: Path, editable: bool, files: list[str] | None = None
) -> ProcResult:
    """Install ``source`` into ``python``'s environment. A regular install builds from a
    temporary copy of ``files`` (the checkout's tracked and untracked, not ignored, files), so
    the build backend's ``build/`` and ``*.egg-info`` never land in the source checkout. An
    editable install must point at the source itself (PEP 660 backends build it in a temp dir)."""
    argv = [
        python,
        "-I",  # the source folder (cwd) must not shadow pip or its build backend
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
        "--no-input",
    ]
    if editable or files is None:
        if editable:
            argv += ["-e", str(source)]
        else:
            argv += ["--force-reinstall", str(source)]
        # the whole log is kept with the sync run (a cap only against a runaway build)
        return await run_proc(argv, cwd=source, limit_s=600, output_limit=PIP_LOG_LIMIT)
    with tempfile.TemporaryDirectory(prefix="opencode-build-") as tmp:
        copy = Path(tmp) / source.name
        copy.mkdir()
        await asyncio.to_thread(copy_tree, source, files, copy)
        # --force-reinstall: an unchanged version number must still get the new files
        argv += ["--force-reinstall", str(copy)]
        return await run_proc(argv, cwd=copy, limit_s=600, output_limit=PIP_LOG_LIMIT)
