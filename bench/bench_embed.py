"""Embedding speed and accuracy of the MiniLM variants, int8 against fp32 measured in the same run.

    .venv/bin/python bench/bench_embed.py [--cache-dir DIR] [--passages 128] [--queries 300] [--candidates]

The header names the CPU's flags and the variant `auto` chooses on it. Then, for fp32 and int8: per-variant CPU
milliseconds of one query and of one passage (in batches of 32) on one thread, with the ratio to fp32; and a 10-word query's p50/p99 latency on one thread (wall clock, and the thread's CPU
time, which a busy machine disturbs less), ~60-word passages per second on one thread (also per CPU second)
and on all threads (with ONNX Runtime's thread spinning off, as the embedder runs, and on), the int8/fp32
ratios, and the cosine of the int8 vectors to the fp32 ones and of both to sentence-transformers on the
reference texts. `--candidates` also builds int8 graphs with ONNX Runtime's dynamic quantisation
(`MatMulIntegerToFloat`, per-channel weights), all projections or with feed-forward layers kept in fp32, and
prints the same CPU figures and their cosine to sentence-transformers: what int8 recipe, if any, pays on this CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime

from lore.backends.embedder import variants
from lore.backends.embedder.choice import choose_variant, cpu_flags
from lore.backends.embedder.onnx import MiniLMEmbedder, load_tokenizer, new_session, run_model

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "minilm_reference.json"
QUERY = "how do I reset the password on my work account"  # 10 words
SOURCE_TEXT = (
    "To reset your password open the account menu and choose security settings. Enter the address you signed "
    "up with and we will send a link that stays valid for thirty minutes. If the message does not arrive check "
    "the spam folder or ask an administrator of your workspace to send a new invitation. Refunds for annual "
    "plans are issued to the original payment method within ten business days, and unused months are credited "
    "to the next invoice. Teams on the free plan can invite up to five members; larger teams need a paid plan "
    "with single sign-on, audit logs and priority support. Exports include every conversation, article and "
    "ticket as CSV or JSON files, delivered by email when the archive is ready. The search index updates within "
    "seconds of a change, and deleted documents disappear from results at once."
)


def passages(count: int, words: int = 60) -> list[str]:
    """Windows of a realistic help-centre text, each starting elsewhere: about 75 tokens apiece."""
    source = SOURCE_TEXT.split()
    return [" ".join(source[(i * 7 + j) % len(source)] for j in range(words)) for i in range(count)]


def query_latency(embedder: MiniLMEmbedder, runs: int) -> dict[str, float]:
    """p50/p99 wall-clock and p50 thread-CPU milliseconds of one query on the one-thread session."""
    for _ in range(20):
        embedder.embed_query(QUERY)
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        embedder.embed_query(QUERY)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return {
        "p50": 1000 * float(np.percentile(wall, 50)),
        "p99": 1000 * float(np.percentile(wall, 99)),
        "cpu_p50": 1000 * float(np.percentile(cpu, 50)),
    }


def throughput(embed: Callable[[Sequence[str]], object], texts: Sequence[str], repeats: int = 3) -> float:
    """Median texts per second over a few passes (after one warm-up batch)."""
    return statistics.median(rates(embed, texts, repeats)[0])


def rates(
    embed: Callable[[Sequence[str]], object], texts: Sequence[str], repeats: int = 3
) -> tuple[list[float], list[float]]:
    """Texts per wall-clock second and per CPU second of the calling thread, for each pass."""
    embed(texts[:32])
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        embed(texts)
        wall.append(len(texts) / (time.perf_counter() - start))
        cpu.append(len(texts) / (time.thread_time() - start_cpu))
    return wall, cpu


def spinning_embed(
    variant: variants.Variant, cache_dir: Path, threads: int
) -> Callable[[Sequence[str]], object]:
    """Bulk embedding as the embedder does it, but on a session whose idle threads spin."""
    session = new_session(variants.variant_path(variant, cache_dir), threads, spinning=True)
    tokenizer = load_tokenizer(truncate_at=256)

    def embed(texts: Sequence[str]) -> object:
        encodings = sorted(tokenizer.encode_batch(list(texts)), key=lambda encoding: len(encoding.ids))
        return [run_model(session, encodings[i : i + 32]) for i in range(0, len(encodings), 32)]

    return embed


def cpu_ms(session: onnxruntime.InferenceSession, texts: Sequence[str], runs: int) -> tuple[float, float]:
    """Thread-CPU ms of one query (median of `runs`) and of one passage in batches of 32 (median of 3 passes)."""
    tokenizer = load_tokenizer(truncate_at=256)
    query = tokenizer.encode(QUERY)
    encodings = sorted(tokenizer.encode_batch(list(texts)), key=lambda encoding: len(encoding.ids))
    for _ in range(10):
        run_model(session, [query])
    queries = []
    for _ in range(runs):
        start = time.thread_time()
        run_model(session, [query])
        queries.append(time.thread_time() - start)
    passes = []
    for _ in range(3):
        start = time.thread_time()
        for i in range(0, len(encodings), 32):
            run_model(session, encodings[i : i + 32])
        passes.append((time.thread_time() - start) / len(encodings))
    return 1000 * statistics.median(queries), 1000 * statistics.median(passes)


CANDIDATES = {  # name: weight shapes whose MatMuls stay fp32; the others get per-channel int8 weights
    "dq-all": (),
    "dq-ffn-down-fp32": ((1536, 384),),
    "dq-ffn-fp32": ((1536, 384), (384, 1536)),
}


def build_candidate(name: str, cache_dir: Path) -> Path:
    """An int8 graph by `quantize_dynamic` from the dequantised fp32 graph, MatMuls of the shapes named kept fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = cache_dir / f"candidate-{name}.onnx"
    if target.is_file():
        return target
    model = onnx.load(variants.source_model_path())
    variants.dequantize_matmul_weights(model)
    shapes = {tensor.name: tuple(tensor.dims) for tensor in model.graph.initializer}
    kept = [
        node.name for node in variants.constant_matmuls(model) if shapes[node.input[1]] in CANDIDATES[name]
    ]
    fp32 = cache_dir / "candidate-fp32.onnx"
    onnx.save(model, fp32)
    quantize_dynamic(
        str(fp32), str(target), per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=kept
    )
    return target


def candidates(cache_dir: Path, texts: list[str], runs: int, fp32_ms: tuple[float, float]) -> None:
    """CPU ms and cosines of the dynamic-quantisation recipes, against fp32 measured in this run."""
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    reference = np.asarray(data["vectors"], np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    tokenizer = load_tokenizer(truncate_at=256)
    print(
        f"{'candidate (not a setting)':26s} {'query ms':>9s} {'x fp32':>7s} {'passage ms':>11s} {'x fp32':>7s}"
        "  cosine to sentence-transformers mean/min"
    )
    for name in CANDIDATES:
        session = new_session(build_candidate(name, cache_dir), 1)
        query, passage = cpu_ms(session, texts, runs)
        vectors = np.concatenate([run_model(session, [tokenizer.encode(text)]) for text in data["texts"]])
        cosines = (vectors * reference).sum(axis=1)
        print(
            f"{name:26s} {query:9.2f} {query / fp32_ms[0]:7.2f} {passage:11.2f} {passage / fp32_ms[1]:7.2f}"
            f"  {cosines.mean():.5f}/{cosines.min():.4f}"
        )


def measure(variant: variants.Variant, cache_dir: Path, texts: list[str], runs: int) -> dict[str, float]:
    one = MiniLMEmbedder(variant, cache_dir=cache_dir, threads=1)
    bulk = MiniLMEmbedder(variant, cache_dir=cache_dir)
    figures = {f"query_{key}": value for key, value in query_latency(one, runs).items()}
    figures["query_cpu_ms"], figures["passage_cpu_ms"] = cpu_ms(one._session("query"), texts, runs)
    wall, cpu = rates(one.embed_documents, texts)
    figures["passages_1_thread"] = statistics.median(wall)
    figures["passages_1_thread_cpu"] = statistics.median(cpu)  # one thread: runs in this thread
    figures["passages_all_threads"] = throughput(bulk.embed_documents, texts)
    figures["passages_all_threads_spinning"] = throughput(
        spinning_embed(variant, cache_dir, bulk.threads), texts
    )
    return figures


def accuracy(cache_dir: Path) -> dict[str, tuple[float, float]]:
    """(mean, min) cosines on the reference texts: int8 against fp32, and each against sentence-transformers."""
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    reference = np.asarray(data["vectors"], np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    fp32 = MiniLMEmbedder("fp32", cache_dir=cache_dir).embed_documents(data["texts"])
    int8 = MiniLMEmbedder("int8", cache_dir=cache_dir).embed_documents(data["texts"])

    def summary(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        cosines = (a * b).sum(axis=1)
        return float(cosines.mean()), float(cosines.min())

    return {
        "int8 vs fp32": summary(int8, fp32),
        "fp32 vs sentence-transformers": summary(fp32, reference),
        "int8 vs sentence-transformers": summary(int8, reference),
    }


def report(results: dict[str, dict[str, float]], cosines: dict[str, tuple[float, float]]) -> None:
    rows = [
        ("query CPU ms (1 thread, median)", "query_cpu_ms"),
        ("passage CPU ms (1 thread, batches of 32)", "passage_cpu_ms"),
        ("query p50 ms (1 thread)", "query_p50"),
        ("query p99 ms (1 thread)", "query_p99"),
        ("query CPU p50 ms (1 thread)", "query_cpu_p50"),
        ("passages/s, 1 thread", "passages_1_thread"),
        ("passages per CPU second, 1 thread", "passages_1_thread_cpu"),
        (f"passages/s, {os.cpu_count()} threads, no spinning", "passages_all_threads"),
        (f"passages/s, {os.cpu_count()} threads, spinning", "passages_all_threads_spinning"),
    ]
    print(f"{'':44s} {'fp32':>9s} {'int8':>9s} {'int8/fp32':>10s}")
    for label, key in rows:
        fp32, int8 = results["fp32"][key], results["int8"][key]
        print(f"{label:44s} {fp32:9.2f} {int8:9.2f} {int8 / fp32:10.2f}")
    for label, (mean, low) in cosines.items():
        print(f"cosine {label:37s} mean {mean:.5f}  min {low:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache-dir", type=Path, help="model cache (default: a fresh temporary directory)")
    parser.add_argument("--passages", type=int, default=128)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--candidates", action="store_true", help="also time int8 dynamic-quantisation recipes"
    )
    args = parser.parse_args()
    flags = cpu_flags()
    shown = sorted(
        flag for flag in flags if flag.startswith(("avx", "amx")) or "vnni" in flag or flag == "fma"
    )
    print(f"CPU flags: {' '.join(shown) or '(unknown)'}; auto chooses {choose_variant(flags)}")
    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = args.cache_dir or Path(scratch)
        start = time.perf_counter()
        variants.variant_path("int8", cache_dir)
        print(
            f"int8 variant ready in {time.perf_counter() - start:.2f} s (built unless cached) in {cache_dir}"
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        texts = passages(args.passages)
        results = {variant: measure(variant, cache_dir, texts, args.queries) for variant in ("fp32", "int8")}
        report(results, accuracy(cache_dir))
        if args.candidates:
            fp32 = results["fp32"]
            candidates(cache_dir, texts, args.queries, (fp32["query_cpu_ms"], fp32["passage_cpu_ms"]))
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
