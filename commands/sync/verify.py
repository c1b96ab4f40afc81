"""The plan's post-sync checklist as real checks, each with status, duration and output.

Categories (``--tests``): core (the source's CLI runs ``--help`` in the target, the package is
installed there, its installed files match the source at the synced commit by sha256),
integration (the target's opencode.toml loads), agent (a real request to the target's provider,
the agent's write/read/bash tools run in the target), docs (docs/plans/RAG complete by file count
and sha256, no broken relative links), feature (the target's own test command), preflight
(``check_prerequisites.py`` / ``preflight.py`` in the target, if present).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import opencode
from opencode.commands.registry import CommandError
from opencode.commands.sync import source as src
from opencode.commands.sync.env import SyncEnv, config_path, doc_dest, doc_source, root
from opencode.commands.sync.files import broken_links, compare_trees, sha256_file, tree_files
from opencode.commands.sync.pyenv import bin_dir, dist_files, isolated, run_proc, tail
from opencode.commands.target.repo import Target, now_iso
from opencode.commands.verify.repo import CheckResult, VerificationRepo

CATEGORIES = ("core", "integration", "agent", "docs", "feature", "preflight")

# Run with ``python -I`` inside the target: its folder (cwd) never lands on sys.path, so a
# target's own ``opencode/`` or ``sessions/`` cannot shadow ours. argv[2] is the folder our
# ``opencode`` package was imported from, put first so the probe reads config with this code.
_CONFIG_CHECK = (
    "import sys; sys.path.insert(0, sys.argv[2]); from pathlib import Path; "
    "from opencode.sessions.config import load_config; "
    "c = load_config(Path(sys.argv[1])); print('config ok: model', c.model)"
)


def _our_import_root() -> str:
    """The sys.path entry this process imported ``opencode`` from."""
    return str(Path(opencode.__file__).absolute().parent.parent)


def parse_categories(value: str | list[str] | None) -> list[str]:
    if not value:
        return list(CATEGORIES)
    words: list[str] = []
    for item in [value] if isinstance(value, str) else value:
        words += [w.strip() for w in item.split(",") if w.strip()]
    unknown = [w for w in words if w not in CATEGORIES]
    if unknown:
        raise CommandError(
            f"unknown test categories {', '.join(unknown)}; choose from {', '.join(CATEGORIES)}"
        )
    return [c for c in CATEGORIES if c in words]


def _skip(name: str, category: str, why: str) -> CheckResult:
    return CheckResult(name, category, "skipped", 0, why)


def _timed(name: str, category: str, ok: bool, started: float, output: str) -> CheckResult:
    return CheckResult(
        name,
        category,
        "passed" if ok else "failed",
        int((time.monotonic() - started) * 1000),
        tail(output),
    )


async def _core(env: SyncEnv, target: Target) -> list[CheckResult]:
    results = []
    script = env.settings.cli or (env.package.scripts[0] if env.package.scripts else None)
    if not target.python:
        return [_skip("cli --help", "core", "the target has no --python to run the CLI with")]
    if env.package.name:
        started = time.monotonic()
        proc = await run_proc(
            isolated(
                target.python,
                "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
                env.package.name,
            ),
            cwd=Path(target.path),
            limit_s=60,
        )
        results.append(
            _timed(f"{env.package.name} installed", "core", proc.ok, started, proc.output)
        )
    if script is None:
        results.append(
            _skip(
                "cli --help",
                "core",
                "the source declares no console script ([project.scripts]); set [sync] cli",
            )
        )
        return results
    exe = bin_dir(target.python) / script
    if not exe.exists():
        results.append(
            CheckResult(
                f"{script} --help",
                "core",
                "failed",
                0,
                f"{exe} does not exist: the CLI is not installed in the target's environment",
            )
        )
        return results
    started = time.monotonic()
    proc = await run_proc([str(exe), "--help"], cwd=Path(target.path), limit_s=60)
    results.append(_timed(f"{script} --help", "core", proc.ok, started, proc.output))
    return results


def _site_relative(path: str) -> str | None:
    """``.../site-packages/pkg/mod.py`` -> ``pkg/mod.py``; None outside site-packages."""
    parts = Path(path).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            index = len(parts) - 1 - parts[::-1].index(marker)
            return "/".join(parts[index + 1 :])
    return None


async def code_matches(env: SyncEnv, target: Target, commit: str | None) -> CheckResult:
    """Every Python file the target's environment has for the package, compared by sha256
    with the same file in the source at the synced commit (``git show SHA:path``)."""
    name = "code matches source"
    if not target.python or not env.package.name:
        return _skip(name, "core", "no --python or no package: no installed code to compare")
    if target.type == "source":
        return _skip(name, "core", "an editable install runs the source checkout itself")
    if commit is None:
        return _skip(
            name, "core", "no committed version to compare with (never synced, or synced dirty)"
        )
    started = time.monotonic()
    files = await asyncio.to_thread(dist_files, target.python, env.package.name) or []
    tracked = (await src.git(env.source, "ls-tree", "-r", "--name-only", commit)).splitlines()
    compared, differing, unknown = 0, [], []
    for path in files:
        rel = _site_relative(path)
        if rel is None or not rel.endswith(".py") or ".dist-info/" in rel or "__pycache__" in rel:
            continue
        matches = [t for t in tracked if t == rel or t.endswith("/" + rel)]
        if len(matches) != 1:
            unknown.append(rel)
            continue
        want = await _git_blob(env.source, f"{commit}:{matches[0]}")
        try:
            have = Path(path).read_bytes()
        except OSError as exc:
            differing.append(f"{rel} (unreadable: {exc})")
            continue
        compared += 1
        if hashlib.sha256(have).digest() != hashlib.sha256(want).digest():
            differing.append(f"{rel} differs from {commit[:12]}:{matches[0]}")
    lines = [f"{compared} installed file(s) compared with {commit[:12]}"]
    lines += differing[:20]
    if unknown:
        lines.append(f"not found (or ambiguous) in the source: {', '.join(unknown[:10])}")
    ok = compared > 0 and not differing
    return _timed(name, "core", ok, started, "\n".join(lines))


async def _git_blob(source: Path, spec: str) -> bytes:
    """The exact bytes of ``git show SPEC`` (text decoding would change them)."""
    proc = await asyncio.create_subprocess_exec(
        "git", "-C", str(source), "show", spec,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return out


async def basic_tools(env: SyncEnv, target: Target) -> CheckResult:
    """The agent's write, read and bash tools, run for real in a temporary folder inside the
    target (removed afterwards): the target's filesystem and shell work for an agent."""
    import shutil
    import tempfile

    from opencode.sessions.tools.base import ToolContext
    from opencode.sessions.tools.files import ReadTool, WriteTool
    from opencode.sessions.tools.registry import execute
    from opencode.sessions.tools.shell import BashTool

    started = time.monotonic()
    try:
        work = Path(tempfile.mkdtemp(prefix=".opencode-verify-", dir=target.path))
    except OSError as exc:
        return _timed("basic tools", "agent", False, started, f"no temp dir: {exc}")

    async def no_undo(path: Path, before: bytes | None) -> None:
        return None

    ctx = ToolContext(cwd=work, session_id="verify", call_id="verify", record_change=no_undo)
    marker = f"opencode verify {os.getpid()}"
    lines: list[str] = []
    ok = True
    try:
        steps: list[tuple[str, Any, dict[str, Any], str]] = [
            ("write", WriteTool(), {"path": "probe.txt", "content": marker + "\n"}, ""),
            ("read", ReadTool(), {"path": "probe.txt"}, marker),
            ("bash", BashTool(env.ctx.config.sandbox), {"command": "cat probe.txt"}, marker),
        ]
        for name, tool, args, expect in steps:
            result = await asyncio.wait_for(execute(tool, args, ctx), 60)
            good = not result.is_error and expect in result.output
            if name == "bash":
                good = good and result.metadata.get("exit_code") == 0
            ok = ok and good
            shown = " | ".join(result.output.strip().splitlines())[:200]
            lines.append(f"{name}: {'ok' if good else 'FAILED'}: {shown}")
    except TimeoutError:
        ok = False
        lines.append("a tool did not finish within 60 s")
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)
    return _timed("basic tools", "agent", ok, started, "\n".join(lines))


PROVIDER_TIMEOUT_S = 60.0


async def provider_answers(env: SyncEnv, target: Target) -> CheckResult:
    """One real, tiny request to the model the target's opencode.toml selects, through the same
    providers the agent uses. Skipped (with the reason) when no provider is configured or it
    cannot be reached (no network here is not a broken sync); failed when it answers an error."""
    from opencode.sessions.config import ConfigError, load_config
    from opencode.sessions.events import Finish, ProviderError, TextDelta
    from opencode.sessions.providers.base import ChatMessage, ChatRequest
    from opencode.sessions.providers.factory import ProviderSetupError, make_provider
    from opencode.sessions.secrets import scrub

    name = "provider answers"
    if not config_path(target).is_file():
        return _skip(name, "agent", f"{config_path(target)} does not exist")
    try:
        config = await asyncio.to_thread(load_config, Path(target.path), warn=lambda _: None)
        provider_config, model = config.resolve_model()
    except (ConfigError, OSError) as exc:
        return _skip(name, "agent", f"no usable provider configured: {exc}")
    if provider_config.api == "local":
        return _skip(name, "agent", "a local in-process model is not loaded for a check")
    secrets = [provider_config.api_key or "", *provider_config.headers.values()]
    started = time.monotonic()
    try:
        provider = make_provider(provider_config)
    except ProviderSetupError as exc:
        return _timed(name, "agent", False, started, scrub(str(exc), secrets))
    request = ChatRequest(
        model=model,
        messages=[ChatMessage(role="user", content="Reply with the single word OK.")],
        max_tokens=16,
    )
    text: list[str] = []
    error: ProviderError | None = None

    async def consume() -> None:
        nonlocal error
        stream = provider.stream(request)
        try:
            async for event in stream:
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, ProviderError):
                    error = event
                    return
                elif isinstance(event, Finish):
                    return
        finally:
            await stream.aclose()

    where = f"{provider_config.name}/{model} at {provider_config.base_url}"
    try:
        await asyncio.wait_for(consume(), PROVIDER_TIMEOUT_S)
    except TimeoutError:
        return _timed(
            name, "agent", False, started, f"{where}: no answer within {PROVIDER_TIMEOUT_S:g} s"
        )
    if error is not None:
        message = scrub(f"{where}: {error.message}", secrets)
        if error.status is None and error.retryable:
            return _skip(name, "agent", f"not reachable: {message}")
        return _timed(name, "agent", False, started, message)
    answer = "".join(text).strip()
    return _timed(name, "agent", True, started, f"{where} answered: {answer[:80]!r}")


# Started with the target's python (-I) in the target's folder: the app is built with the
# target's config and run headless (Textual's run_test), with a throwaway data dir.
_TUI_PROBE = """
import asyncio, sys
from pathlib import Path
from opencode.sessions.config import load_config
from opencode.tui.app import OpencodeApp

async def main() -> None:
    folder = Path(sys.argv[1])
    app = OpencodeApp(config=load_config(folder), cwd=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        print("tui started:", type(app.screen).__name__)

asyncio.run(main())
"""
TUI_TIMEOUT_S = 60.0


async def tui_starts(env: SyncEnv, target: Target) -> CheckResult:
    """The target's installed opencode TUI starts headless and draws its first screen."""
    import tempfile

    name = "tui starts"
    if not target.python:
        return _skip(name, "core", "the target has no --python to start the TUI with")
    probe = await run_proc(
        isolated(
            target.python,
            "import importlib.util as u, sys\n"
            "try:\n ok = u.find_spec('opencode.tui.app') and u.find_spec('textual')\n"
            "except ImportError:\n ok = None\n"
            "sys.exit(0 if ok else 3)",
        ),
        cwd=Path(target.path),
        limit_s=30,
    )
    if probe.returncode == 3:
        return _skip(name, "core", f"{target.python} has no opencode.tui (or no textual)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="opencode-verify-tui-") as data:
        proc = await run_proc(
            isolated(target.python, _TUI_PROBE, target.path),
            cwd=Path(target.path),
            limit_s=TUI_TIMEOUT_S,
            env={"OPENCODE_DATA_DIR": data, "TERM": "xterm-256color"},
        )
    ok = proc.ok and "tui started:" in proc.output
    return _timed(name, "core", ok, started, proc.output)


async def _integration(env: SyncEnv, target: Target) -> list[CheckResult]:
    path = config_path(target)
    if not path.is_file():
        return [_skip("config loads", "integration", f"{path} does not exist")]
    started = time.monotonic()
    # A separate interpreter, so the target's config is read with nothing of ours around it.
    proc = await run_proc(
        isolated(sys.executable, _CONFIG_CHECK, str(path.parent), _our_import_root()),
        cwd=path.parent,
        limit_s=60,
        env={"OPENCODE_CONFIG": str(path)},
    )
    return [_timed("config loads", "integration", proc.ok, started, proc.output)]


def _docs(env: SyncEnv, target: Target) -> list[CheckResult]:
    results = []
    markdown: list[Path] = []
    for component in ("docs", "plans", "rag"):
        source_dir = doc_source(env, component)
        name = f"{component} complete"
        if not source_dir.is_dir():
            results.append(_skip(name, "docs", f"the source has no {source_dir.name}/ folder"))
            continue
        started = time.monotonic()
        dest = doc_dest(env, target, component)
        cmp = compare_trees(source_dir, dest)
        lines = [f"{cmp.matched}/{cmp.source_count} files match by sha256 in {dest}"]
        if cmp.missing:
            lines.append("missing: " + ", ".join(cmp.missing[:20]))
        if cmp.different:
            lines.append("different: " + ", ".join(cmp.different[:20]))
        if cmp.extra:
            lines.append(f"extra in target (kept): {', '.join(cmp.extra[:20])}")
        results.append(_timed(name, "docs", cmp.ok, started, "\n".join(lines)))
        markdown += [dest / rel for rel in tree_files(dest) if rel.endswith(".md")]
    dest_root = root(target) / env.settings.dest
    for extra in env.settings.extra_docs:
        if (env.source / extra).is_file():
            started = time.monotonic()
            copy = dest_root / extra
            ok = copy.is_file() and sha256_file(copy) == sha256_file(env.source / extra)
            results.append(
                _timed(
                    f"{extra} copied",
                    "docs",
                    ok,
                    started,
                    f"{copy} {'matches' if ok else 'is missing or differs from'} "
                    f"{env.source / extra}",
                )
            )
            if copy.is_file():
                markdown.append(copy)
    started = time.monotonic()
    broken = [b for md in markdown for b in broken_links(md)]
    results.append(
        _timed(
            "no broken links",
            "docs",
            not broken,
            started,
            "\n".join(broken[:50])
            if broken
            else f"{len(markdown)} markdown file(s), links resolve",
        )
    )
    return results


async def _feature(env: SyncEnv, target: Target) -> list[CheckResult]:
    if not target.test_command:
        return [_skip("target tests", "feature", "no --test-command registered for the target")]
    started = time.monotonic()
    env_vars = {}
    if target.python:
        # the target's interpreter first on PATH, as if its venv were activated
        env_vars["PATH"] = f"{bin_dir(target.python)}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = await run_proc(
        [target.test_command],
        cwd=Path(target.path),
        limit_s=env.settings.test_timeout,
        env=env_vars,
        shell=True,
    )
    if proc.timed_out:
        status = (
            f"timed out after {env.settings.test_timeout:g} s; raise [sync] test_timeout "
            "in opencode.toml or make the test command faster"
        )
    else:
        status = f"exit {proc.returncode}"
    output = f"$ {target.test_command}\n{proc.output}\n({status})"
    return [_timed("target tests", "feature", proc.ok, started, output)]


async def _preflight(env: SyncEnv, target: Target) -> list[CheckResult]:
    for name in env.settings.preflight:
        script = Path(target.path) / name
        if script.is_file():
            started = time.monotonic()
            python = target.python or sys.executable
            proc = await run_proc([python, str(script)], cwd=Path(target.path), limit_s=300)
            return [_timed(f"preflight {name}", "preflight", proc.ok, started, proc.output)]
    return [
        _skip("preflight", "preflight", f"no {' / '.join(env.settings.preflight)} in {target.path}")
    ]


async def run_checks(
    env: SyncEnv, target: Target, categories: list[str], commit: str | None = None
) -> list[CheckResult]:
    results: list[CheckResult] = []
    for category in categories:
        env.ctx.progress(f"verify {target.name}: {category}")
        if category == "core":
            results += await _core(env, target)
            results.append(await code_matches(env, target, commit))
            results.append(await tui_starts(env, target))
        elif category == "integration":
            results += await _integration(env, target)
        elif category == "agent":
            results.append(await provider_answers(env, target))
            results.append(await basic_tools(env, target))
        elif category == "docs":
            results += await asyncio.to_thread(_docs, env, target)
        elif category == "feature":
            results += await _feature(env, target)
        elif category == "preflight":
            results += await _preflight(env, target)
    return results


async def synced_code_commit(env: SyncEnv, target: Target) -> str | None:
    """The commit the target's code was last synced to; None if never or from a dirty tree."""
    state = (await env.repo.components(target.id)).get("code")
    if state is None:
        return target.sync_commit
    return None if state.dirty else state.sync_commit


async def run_verification(
    env: SyncEnv,
    target: Target,
    tests: str | list[str] | None,
    sync_run_id: int | None = None,
    commit: str | None = None,
) -> dict[str, Any]:
    """Run the checks and persist them as one verification run; returns ``verify show``'s
    dict. ``commit``: what the installed code must match (default: the synced code commit)."""
    categories = parse_categories(tests)
    started = now_iso()
    if commit is None and sync_run_id is None:
        commit = await synced_code_commit(env, target)
    results = await run_checks(env, target, categories, commit)
    repo = VerificationRepo(env.ctx.store)
    run_id = await repo.save_verification(target.id, categories, started, results, sync_run_id)
    data = await repo.verification(run_id)
    assert data is not None
    return data
