"""Short work on the one loaded model: a context for one-token judgements and one for
embeddings, each made on the model the chat context already holds (llama.cpp's model/context
split), so the weights are in memory (or VRAM) once. llama-cpp-python's `Llama` owns its
model, so these use its low-level wrappers (`llama_cpp._internals`, pinned with the package).

Each context is used from one thread at a time (the model server's short-work thread); the
model's weights and vocabulary are read-only and shared.
"""

from __future__ import annotations

import math
from typing import Any


def _context(
    model: Any, n_ctx: int, n_threads: int, *, n_batch: int, embeddings: bool = False
) -> Any:
    import llama_cpp
    from llama_cpp import _internals

    params = llama_cpp.llama_context_default_params()
    params.n_ctx = n_ctx
    params.n_batch = params.n_ubatch = n_batch
    params.n_threads = params.n_threads_batch = n_threads
    if embeddings:
        params.embeddings = True
        params.pooling_type = llama_cpp.LLAMA_POOLING_TYPE_MEAN
    return _internals.LlamaContext(model=model, params=params, verbose=False)


def _batch(n_tokens: int) -> Any:
    from llama_cpp import _internals

    return _internals.LlamaBatch(n_tokens=n_tokens, embd=0, n_seq_max=1, verbose=False)


class _OnModel:
    """A context and its batch on the loaded model; freed before the model is."""

    ctx: Any
    batch: Any

    def close(self) -> None:
        self.batch.close()
        self.ctx.close()


class Judge(_OnModel):
    """The next-token distribution over a few options. The context keeps what it evaluated
    last: a prompt sharing that prefix (the instructions of a template) evaluates only the
    rest."""

    N_BATCH = 512

    def __init__(self, model: Any, n_ctx: int, n_threads: int) -> None:
        self.model = model
        self.ctx = _context(model, n_ctx, n_threads, n_batch=self.N_BATCH)
        self.batch = _batch(self.N_BATCH)
        self.n_ctx = n_ctx
        self.n_vocab = model.n_vocab()
        self.cached: list[int] = []  # the tokens the context's cache holds, in order

    def tokens(self, text: str, *, add_bos: bool) -> list[int]:
        return list(self.model.tokenize(text.encode(), add_bos, False))

    def choose(self, prompt: str, options: list[str]) -> dict[str, float]:
        tokens = self.tokens(prompt, add_bos=True)[-(self.n_ctx - 8) :]
        logits = self._next_token_logits(tokens)
        firsts = {o: self.tokens(o, add_bos=False)[0] for o in options}
        top = max(float(logits[t]) for t in firsts.values())
        weights = {o: math.exp(float(logits[t]) - top) for o, t in firsts.items()}
        total = sum(weights.values())
        return {o: w / total for o, w in weights.items()}

    def _next_token_logits(self, tokens: list[int]) -> Any:
        import llama_cpp
        import numpy as np  # not imported by the daemon until a model is loaded

        prefix = 0
        for a, b in zip(self.cached, tokens, strict=False):
            if a != b:
                break
            prefix += 1
        prefix = min(prefix, len(tokens) - 1)  # the last token is evaluated for its logits
        self.ctx.kv_cache_seq_rm(0, prefix, -1)
        self.cached = self.cached[:prefix]
        try:
            for start in range(prefix, len(tokens), self.N_BATCH):
                part = tokens[start : start + self.N_BATCH]
                self.batch.set_batch(part, n_past=start, logits_all=False)
                self.ctx.decode(self.batch)
                self.cached += part
        except Exception:
            self.ctx.kv_cache_clear()  # what the cache holds is unknown now
            self.cached = []
            raise
        last = llama_cpp.llama_get_logits_ith(self.ctx.ctx, -1)
        return np.ctypeslib.as_array(last, shape=(self.n_vocab,))


class Embedder(_OnModel):
    """A prompt's mean-pooled embedding (up to `n_ctx` tokens)."""

    def __init__(self, model: Any, n_ctx: int, n_threads: int) -> None:
        self.model = model
        self.n_ctx = n_ctx
        # Pooling needs the whole sequence in one batch.
        self.ctx = _context(model, n_ctx, n_threads, n_batch=n_ctx, embeddings=True)
        self.batch = _batch(n_ctx)
        self.n_embd = model.n_embd()

    def embed(self, text: str) -> list[float]:
        import llama_cpp

        tokens = list(self.model.tokenize(text.encode(), True, False))[: self.n_ctx]
        self.ctx.kv_cache_clear()
        self.batch.reset()
        # Every input token is an output in embedding mode (llama-cpp-python#2208).
        self.batch.add_sequence(tokens, 0, True)
        self.ctx.decode(self.batch)
        vector = llama_cpp.llama_get_embeddings_seq(self.ctx.ctx, 0)
        return [float(vector[i]) for i in range(self.n_embd)]
