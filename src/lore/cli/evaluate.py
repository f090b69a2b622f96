"""`lore eval retrieval DATASET_DIR`: quality and latency on a BEIR-layout data set."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lore.cli.common import DataDir, JsonFlag, console, err_console, print_json, settings_for
from lore.core.evaluation import BeirSet, load_beir, summarise
from lore.core.retrieve import SearchRequest
from lore.models import DEFAULT_TENANT, SearchMode
from lore.service import Lore

app = typer.Typer(help="Evaluate Lore on data sets.", no_args_is_help=True)
DEPTH = 200  # chunks retrieved per query: enough distinct documents for Recall@100


@app.command("retrieval")
def retrieval(
    dataset_dir: Annotated[
        Path, typer.Argument(help="BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv.")
    ],
    mode: Annotated[SearchMode, typer.Option("--mode", "-m")] = "hybrid",
    k: Annotated[int, typer.Option("--k", help="Hits per query for the latency figures.")] = 10,
    split: Annotated[str, typer.Option(help="qrels file to evaluate on.")] = "test",
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest the corpus (into a fresh temporary data dir unless --data-dir) and score every judged query."""
    dataset = load_beir(dataset_dir, split)
    with (
        tempfile.TemporaryDirectory(prefix="lore-eval-") as scratch,
        Lore.open(settings_for(data_dir or Path(scratch))) as lore,
    ):
        ingest_seconds = _ingest(lore, dataset, quiet=as_json)
        runs, latencies = _run_queries(lore, dataset, mode, max(k, DEPTH), quiet=as_json)
    result = summarise(dataset, mode, runs, latencies, ingest_seconds)
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            console.print(f"{key:>16}  {value}")


def _bar(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    )


def _ingest(lore: Lore, dataset: BeirSet, quiet: bool) -> float:
    total = sum(1 for _ in dataset.corpus())
    with _bar(quiet) as bar:
        task = bar.add_task("ingesting corpus", total=total)
        report = lore.add_corpus(dataset.corpus(), on_progress=lambda n: bar.update(task, completed=n))
    return report.seconds


def _run_queries(
    lore: Lore, dataset: BeirSet, mode: SearchMode, depth: int, quiet: bool
) -> tuple[dict[str, list[str]], list[float]]:
    """Ranked document ids per query (a document counts once, at its best chunk) and each query's latency."""
    runs: dict[str, list[str]] = {}
    latencies: list[float] = []
    with _bar(quiet) as bar:
        task = bar.add_task(f"{mode} queries", total=len(dataset.queries))
        for query_id, text in dataset.queries.items():
            if not text.strip():  # unanswerable: scored as a miss rather than dropped
                runs[query_id] = []
                bar.advance(task)
                continue
            start = time.perf_counter()
            hits = lore.search(SearchRequest(DEFAULT_TENANT, text, min(depth, lore.settings.max_k), mode))
            latencies.append(time.perf_counter() - start)
            ranked = [str(hit.chunk.metadata.get("record_id", hit.chunk.document_id)) for hit in hits]
            runs[query_id] = list(dict.fromkeys(ranked))
            bar.advance(task)
    return runs, latencies
