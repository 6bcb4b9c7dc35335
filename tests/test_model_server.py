"""The shared model server on the real Gemma 3 270M GGUF from PyPI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from proxy.model_server import ModelServer, ModelUnavailable, embedded_model_path
from proxy.settings import ModelSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def model(shared_cache: Path) -> AsyncIterator[ModelServer]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(shared_cache))
        server = ModelServer(ModelSettings(n_ctx=2048))
        await server.ensure_loaded()
    yield server
    server.close()


async def test_the_embedded_model_loads(model: ModelServer) -> None:
    assert model.path is not None and model.path.name == embedded_model_path().name
    assert model.describe()["status"] == "ready"
    assert model.path.stat().st_size > 100_000_000


async def test_embeddings(model: ModelServer) -> None:
    a, b, c = await asyncio.gather(
        model.embed("The cat sat on the mat."),
        model.embed("A cat is sitting on a mat."),
        model.embed("def quicksort(xs): return sorted(xs)"),
    )
    assert len(a) == len(b) == len(c) == 640

    def cosine(x: list[float], y: list[float]) -> float:
        dot = sum(p * q for p, q in zip(x, y, strict=True))
        return dot / (sum(p * p for p in x) ** 0.5 * sum(q * q for q in y) ** 0.5)

    assert cosine(a, b) > cosine(a, c)  # similar sentences are closer than unrelated code


async def test_an_embedding_reads_a_bounded_window(model: ModelServer) -> None:
    # Every token of an embedding is an output with vocabulary-wide logits: an unbounded
    # window made one long text cost gigabytes of memory. What lies past it does not count.
    opening = "The scheduler hands each job to the least busy worker. " * 60  # > 512 tokens
    first = await model.embed(opening + "Then it writes the results to disk.")
    second = await model.embed(opening + "Quantum chromodynamics describes the strong force.")
    assert first == second
    assert await model.embed("A short text.") != first


async def test_one_token_choice_is_a_distribution(model: ModelServer) -> None:
    probabilities = await model.choose(
        "Question: Is the sky blue? Answer yes or no.\nAnswer:", [" yes", " no"]
    )
    assert set(probabilities) == {" yes", " no"}
    assert abs(sum(probabilities.values()) - 1) < 1e-6
    again = await model.choose(
        "Question: Is the sky blue? Answer yes or no.\nAnswer:", [" yes", " no"]
    )
    assert again == pytest.approx(probabilities)  # the cached prefix gives the same answer


async def test_completion_and_stream(model: ModelServer) -> None:
    result = await model.complete(
        [{"role": "user", "content": "Count from one to five."}], max_tokens=12, temperature=0
    )
    assert result["object"] == "chat.completion"
    assert isinstance(result["choices"][0]["message"]["content"], str)
    chunks = [
        c async for c in model.stream([{"role": "user", "content": "Say something."}], max_tokens=8)
    ]
    assert chunks and chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


async def test_concurrent_callers_all_get_answers(model: ModelServer) -> None:
    texts = [f"request number {i} about topic {i * 7}" for i in range(6)]
    results = await asyncio.gather(
        *(model.embed(t) for t in texts),
        *(model.choose(f"{t}\nAnswer:", [" cloud", " local"]) for t in texts),
        model.complete([{"role": "user", "content": "hello"}], max_tokens=4),
    )
    assert len(results) == 13 and all(results)


async def test_a_long_completion_does_not_hold_up_classification(model: ModelServer) -> None:
    finished: dict[str, float] = {}

    async def long_completion() -> None:
        await model.complete(
            [{"role": "user", "content": "1, 2, 3, 4, 5,"}], max_tokens=200, temperature=0
        )
        finished["completion"] = time.monotonic()

    async def classification() -> None:
        await asyncio.sleep(0.05)  # let the completion start first
        await model.choose("Is this hard?\nAnswer:", [" yes", " no"])
        finished["choice"] = time.monotonic()

    started = time.monotonic()
    await asyncio.gather(long_completion(), classification())
    if finished["completion"] - started < 0.5:
        pytest.skip("the model ended its completion too soon to show the overlap")
    assert finished["choice"] < finished["completion"]


async def test_the_event_loop_stays_responsive(model: ModelServer) -> None:
    ticks = 0
    busy = True

    async def ticker() -> None:
        nonlocal ticks
        while busy:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await model.choose("word " * 600 + "\nAnswer:", [" yes", " no"])  # a long prompt: slow work
    busy = False
    await task
    assert ticks >= 5  # the loop kept running while the model worked on another thread


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"not a model at all", "is not a GGUF model file"),
        (b"GGUF\x03\x00\x00\x00garbage", "cannot load the GGUF model"),
    ],
)
async def test_missing_or_corrupt_model_is_a_clear_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    server = ModelServer(ModelSettings(path=path))
    with pytest.raises(ModelUnavailable, match=message):
        await server.ensure_loaded()
    with pytest.raises(ModelUnavailable):  # and it stays failed, without retrying the load
        await server.embed("x")
    assert server.describe()["status"] == "failed"


async def test_the_judges_prompt_can_be_replaced(model: ModelServer, tmp_path: Path) -> None:
    from proxy.classifier.judge import model_judge

    template = tmp_path / "classifier.md"
    template.write_text(
        "Route this to the cloud. Always answer cloud.\nRequest: {{ prompt }}\nRoute: cloud, cloud, cloud,"
    )
    text = "rename a variable"
    shipped = await model_judge(model)(text)
    replaced = await model_judge(model, template)(text)
    assert replaced != pytest.approx(shipped)  # the file in config is the prompt used
    assert replaced > shipped


async def test_one_load_however_many_callers_give_up(shared_cache: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(shared_cache))
        server = ModelServer(ModelSettings(n_ctx=512))
        loads = 0
        real_load = server._load

        def counted() -> None:
            nonlocal loads
            loads += 1
            real_load()

        server._load = counted  # type: ignore[method-assign]
        try:
            for _ in range(4):  # four judges give up after 1 ms, as a 50 ms budget would
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(server.ensure_loaded(), 0.001)
                assert server.describe()["status"] == "loading"
            await server.ensure_loaded()
            assert server.describe()["status"] == "ready" and loads == 1
        finally:
            server.close()


async def test_a_failed_load_says_why_to_every_caller(tmp_path: Path) -> None:
    from proxy.model_server import ModelUnavailable

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    server = ModelServer(ModelSettings(path=broken))
    for _ in range(2):
        with pytest.raises(ModelUnavailable, match="not a GGUF model file"):
            await server.ensure_loaded()
    assert server.describe()["status"] == "failed"
    server.close()


async def test_an_abandoned_completion_ends_at_its_next_token(model: ModelServer) -> None:
    # A harness that gives up (its user pressed Ctrl-C) must not leave the local model
    # generating for up to max_tokens while every later request waits behind it.
    import llama_cpp

    context = model._chat._ctx.ctx

    def generated() -> int:
        return int(llama_cpp.llama_perf_context(context).n_eval)

    before = generated()
    counting = [{"role": "user", "content": "Count from 1 to 1000, separated by commas."}]
    # at temperature 0 Gemma 270M counts on to max_tokens (1000 here) unless stopped
    abandoned = asyncio.create_task(model.complete(counting, max_tokens=1000, temperature=0.0))
    async with asyncio.timeout(120):
        while generated() - before < 5:  # it is generating
            await asyncio.sleep(0.01)
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    # the model's one completion thread runs this only once the abandoned call has ended
    after = await model.complete([{"role": "user", "content": "Hi"}], max_tokens=1)
    assert after["choices"][0]["message"]["content"] is not None
    assert generated() - before < 100


async def test_every_kind_of_work_runs_on_the_one_loaded_model(model: ModelServer) -> None:
    # The weights are loaded once (in VRAM once on a GPU): judge and embeddings have contexts
    # of their own on the model the chat context holds. bench/model_memory.py measures it.
    assert model._judge is not None and model._embedder is not None
    assert model._judge.model is model._chat._model
    assert model._embedder.model is model._chat._model


async def test_llama_cpp_reports_one_load_of_the_gguf(
    shared_cache: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # proxy.model.verbose shows llama.cpp's own log: the weights are read once, whatever
    # the contexts made on them.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(shared_cache))
        server = ModelServer(ModelSettings(n_ctx=512, verbose=True))
        try:
            await server.ensure_loaded()
            await server.embed("one")
            await server.choose("Yes or no?", [" yes", " no"])
        finally:
            server.close()
    report = capfd.readouterr().err
    assert report.count("llama_model_loader: loaded meta data") == 1
    assert report.count("llama_context: n_ctx") >= 3  # completions, judge, embeddings


_CLOSE_UNDER_WORK = """
import asyncio
from proxy.model_server import ModelServer
from proxy.settings import ModelSettings

async def main():
    server = ModelServer(ModelSettings(n_ctx=2048))
    await server.ensure_loaded()
    long_prompt = "Explain the trade-offs of this design. " * 200
    for _ in range(3):
        try:  # a judge past its time limit: the call is abandoned, its decode runs on
            await asyncio.wait_for(server.choose(long_prompt, [" yes", " no"]), 0.001)
        except TimeoutError:
            pass
        server.close()  # the daemon's shutdown, right after a routing decision gave up
        server = ModelServer(ModelSettings(n_ctx=2048))
        await server.ensure_loaded()
    server.close()
    print("closed cleanly", flush=True)

asyncio.run(main())
"""


async def test_closing_while_abandoned_work_still_runs_does_not_crash() -> None:
    # A judgement that timed out keeps decoding on the model's thread; freeing its context
    # (or the weights under it) then would kill the daemon with a segmentation fault.
    import subprocess
    import sys

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _CLOSE_UNDER_WORK],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "closed cleanly" in done.stdout
