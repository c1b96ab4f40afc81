"""Build (once per machine) the C++ ``llama-server`` from the llama.cpp vendored in the
llama-cpp-python sdist, and cache it outside the work tree, keyed by version.

    python tests/realserver/build_llama_server.py [VERSION]

prints the cached binary's path. The cache is
``$OPENCODE_TEST_CACHE/llama-server/<version>/`` (default ``~/.cache/opencode-tests``) and holds
``llama-server`` plus the Qwen2.5 chat template (SmolLM2's own template has no tools). A cached
build is a no-op. Any failure exits non-zero with the step, the command and the tail of its log:
the real-server tier must fail loudly, never skip.

The version defaults to the installed llama-cpp-python (so the server and the Python binding
come from the same llama.cpp), else ``DEFAULT_VERSION``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VERSION = "0.3.36"
TEMPLATE = "models/templates/Qwen-Qwen2.5-7B-Instruct.jinja"
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    # Otherwise the configure step tries to download a web UI (no internet in CI).
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    # Portable: the cache may be shared by machines with different CPUs.
    "-DGGML_NATIVE=OFF",
]


class BuildError(RuntimeError):
    """A step of the build failed; the message names the step, command and log tail."""


@dataclass(frozen=True)
class LlamaServerBuild:
    version: str
    binary: Path
    tool_template: Path


def cache_root() -> Path:
    base = os.environ.get("OPENCODE_TEST_CACHE") or str(Path.home() / ".cache" / "opencode-tests")
    return Path(base) / "llama-server"


def default_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return DEFAULT_VERSION


def _log(message: str) -> None:
    print(f"[llama-server build] {message}", file=sys.stderr, flush=True)


def _run(step: str, cmd: list[str], log: Path, cwd: Path | None = None) -> None:
    _log(f"{step}: {' '.join(cmd)}")
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        except FileNotFoundError as exc:
            raise BuildError(
                f"{step} failed: {cmd[0]!r} is not installed ({exc}). Install cmake, ninja and a "
                "C++ compiler (e.g. `apt-get install cmake ninja-build g++`)."
            ) from exc
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise BuildError(
            f"{step} failed with exit code {proc.returncode}: {' '.join(cmd)}\n"
            f"full log: {log}\n--- last lines ---\n{tail}"
        )


def _cached(dest: Path) -> LlamaServerBuild | None:
    binary, template = dest / "llama-server", dest / "tool-template.jinja"
    if binary.is_file() and os.access(binary, os.X_OK) and template.is_file():
        return LlamaServerBuild(dest.name, binary, template)
    return None


def ensure_llama_server(version: str | None = None, jobs: int = 2) -> LlamaServerBuild:
    """Return the cached build of ``version``, building it first if needed."""
    version = version or default_version()
    dest = cache_root() / version
    found = _cached(dest)
    if found:
        return found
    dest.parent.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers (and parallel CI jobs) may all ask at once: one builds, others wait.
    with (dest.parent / f".{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _cached(dest)
        if found:
            return found
        return _build(version, dest, jobs)


def _build(version: str, dest: Path, jobs: int) -> LlamaServerBuild:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"build-{version}-", dir=dest.parent))
    log = work / "build.log"
    _log(f"building llama-server {version} in {work} (a few minutes; log: {log})")
    try:
        sdist_dir = work / "sdist"
        _run(
            "download sdist",
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-binary",
                ":all:",
                "--no-deps",
                f"llama-cpp-python=={version}",
                "-d",
                str(sdist_dir),
            ],
            log,
        )
        archives = sorted(sdist_dir.glob("*.tar.gz"))
        if not archives:
            raise BuildError(f"download sdist: no .tar.gz in {sdist_dir}; see {log}")
        src = work / "src"
        with tarfile.open(archives[0]) as tar:
            tar.extractall(src, filter="data")
        roots = [p for p in src.iterdir() if p.is_dir()]
        llama = roots[0] / "vendor" / "llama.cpp" if roots else src
        if not (llama / "CMakeLists.txt").is_file():
            raise BuildError(f"extract sdist: no vendored llama.cpp at {llama}")
        build = work / "build"
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        _run(
            "configure",
            ["cmake", "-S", str(llama), "-B", str(build), *generator, *CMAKE_FLAGS],
            log,
        )
        _run(
            "compile",
            ["cmake", "--build", str(build), "--target", "llama-server", "-j", str(jobs)],
            log,
        )
        binary = build / "bin" / "llama-server"
        if not binary.is_file():
            raise BuildError(f"compile: {binary} was not produced; see {log}")
        _run("smoke test", [str(binary), "--version"], log)
        staging = work / "out"
        staging.mkdir()
        shutil.copy2(binary, staging / "llama-server")
        shutil.copy2(llama / TEMPLATE, staging / "tool-template.jinja")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)  # atomic: a reader sees a complete cache entry or none
    except BuildError:
        raise
    except Exception as exc:  # an unexpected failure must still name the log
        raise BuildError(f"llama-server build failed: {exc!r}; log: {log}") from exc
    _log(f"built {dest / 'llama-server'} in {time.monotonic() - started:.0f} s")
    shutil.rmtree(work, ignore_errors=True)
    found = _cached(dest)
    assert found is not None
    return found


def main(argv: list[str]) -> int:
    version = argv[1] if len(argv) > 1 else None
    try:
        result = ensure_llama_server(version)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(result.binary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
