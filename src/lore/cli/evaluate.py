"""`lore eval fusion DATASET_DIR...`: fusion rules scored leave-one-dataset-out;
`lore eval retrieval|answers|adapter DATASET_DIR`: retrieval or answer quality and latency, or what a query
adapter gains, on a BEIR-layout set; `lore eval recommendations DATASET_DIR`: recommendation quality on a
MovieLens-layout set; `lore eval intents DATASET_DIR`: intent classification on a labelled train.csv/test.csv
pair."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, Quiet, console, err_console, print_json, settings_for
from lore.cli.progress import Reporter, reporting
from lore.errors import InvalidInput
from lore.models import SearchMode

if TYPE_CHECKING:
    from lore.evaluation.answers import Outcome
    from lore.evaluation.datasets import BeirSet, JudgedQuery
    from lore.service import Lore

app = typer.Typer(help="Evaluate Lore on data sets.", no_args_is_help=True)
DatasetDir = Annotated[Path, typer.Argument(help="BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv.")]
Split = Annotated[str, typer.Option(help="qrels file to evaluate on.")]


@app.command("retrieval")
def eval_retrieval(
    dataset_dir: DatasetDir,
    mode: Annotated[SearchMode, typer.Option("--mode", "-m")] = "hybrid",
    k: Annotated[int, typer.Option("--k", help="Hits per query for the latency figures.")] = 10,
    split: Split = "test",
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest the corpus (into a fresh temporary data dir unless --data-dir) and score every judged query."""
    from lore.evaluation import retrieval
    from lore.evaluation.datasets import load_beir
    from lore.service import Lore

    dataset = load_beir(dataset_dir, split)
    with (
        tempfile.TemporaryDirectory(prefix="lore-eval-") as scratch,
        Lore.open(settings_for(data_dir or Path(scratch))) as lore,
        reporting(quiet or as_json) as report,
    ):
        ingest_seconds = _ingest(lore, dataset, report)
        label, total = f"{mode} queries", len(dataset.queries)
        depth = max(k, retrieval.DEPTH)
        run = retrieval.search_all(lore, dataset, mode, depth, _counted(report, label, total, "queries"))
    _render(retrieval.summarise(dataset, mode, run, ingest_seconds), as_json)


@app.command("fusion")
def eval_fusion(
    dataset_dirs: Annotated[
        list[Path], typer.Argument(help="BEIR-layout sets: the folds (see docs/evaluation.md).")
    ],
    cache: Annotated[
        Path, typer.Option("--cache", help="Where candidate pools (and the ingested corpora) are kept.")
    ] = Path("eval-cache"),
    depth: Annotated[
        int, typer.Option("--depth", min=1, help="Candidates each retriever contributes.")
    ] = 200,
    quiet: Quiet = False,
    as_json: JsonFlag = False,
) -> None:
    """Score fusion rules leave-one-dataset-out: each fold by keyword, vector, equal-weight RRF, the shipped
    rule and the shipped rule's form fitted on the other folds only. Candidate pools are computed once per set
    (as hybrid search computes them) and cached under --cache."""
    from lore.evaluation import lodo, pools, weighting

    with reporting(quiet or as_json) as report:

        def progress(stage: str, done: int, total: int) -> None:
            report(stage, done / total if total else None, f"{done}/{total}")

        found = [
            query
            for directory in dataset_dirs
            for query in pools.load(directory, cache, depth, None, progress)
        ]
        rules = [*lodo.BASELINES, lodo.fixed("shipped", lodo.default_rule), weighting.fitted()]
        result = lodo.run(found, rules)
    if as_json:
        print_json(result)
        return
    rows = result["folds"]
    assert isinstance(rows, list)
    columns = [key for key in rows[0] if key != "fold"] if rows else []
    console.print(f"{'fold':<12}" + "".join(f"{column:>16}" for column in columns), markup=False)
    for row in rows:
        console.print(f"{row['fold']:<12}" + "".join(f"{row[c]:>16}" for c in columns), markup=False)
    console.print(
        f"worst margin {result['worst_margin']}  meets target {result['meets_target']}", markup=False
    )


@app.command("answers")
def eval_answers(
    dataset_dir: DatasetDir,
    k: Annotated[int, typer.Option("--k", min=1, help="Passages each answer is given.")] = 5,
    mode: Annotated[SearchMode, typer.Option("--mode", "-m")] = "hybrid",
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help="Provider(s) to answer with, comma-separated (default: $LORE_LLM_PROVIDERS, else extractive).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N judged queries.")
    ] = None,
    held_out: Annotated[
        bool,
        typer.Option(
            "--held-out", help="Ask each query again with its gold documents held out of its passages."
        ),
    ] = False,
    foreign: Annotated[
        Path | None,
        typer.Option("--foreign", help="Ask another BEIR set's queries (the first N) of this corpus too."),
    ] = None,
    split: Split = "test",
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest the corpus (into a fresh temporary data dir unless --data-dir), answer every judged query from its
    top k passages and score the answers: citation accuracy, answer recall, token F1 and ROUGE-L against the
    gold passages, abstention, false answers on unanswerable questions, latency."""
    from lore.answers import build_chain, provider_names
    from lore.conversations import Answering
    from lore.evaluation import answers
    from lore.evaluation.datasets import foreign as foreign_queries
    from lore.evaluation.datasets import gold_answers, judged_queries, load_beir, with_gold_passages
    from lore.service import Lore

    dataset = load_beir(dataset_dir, split)
    queries = with_gold_passages(dataset, judged_queries(dataset, gold_answers(dataset_dir), limit))
    strangers = []
    if foreign is not None:
        strangers = foreign_queries(judged_queries(load_beir(foreign, split), {}, limit))
    with tempfile.TemporaryDirectory(prefix="lore-eval-") as scratch:
        settings = settings_for(data_dir or Path(scratch))
        if k > settings.serving.max_k:
            raise InvalidInput(f"k must be between 1 and {settings.serving.max_k}", details={"k": k})
        chain = build_chain(settings)
        providers = chain.check(provider_names(provider or settings.answers.llm_providers))
        with Lore.open(settings) as lore, reporting(quiet or as_json) as report:
            ingest_seconds = _ingest(lore, dataset, report)
            answering = Answering(lore, chain, lore.store.conversations, passages=k)
            label = f"answering ({', '.join(providers)})"

            def run(asked: list[JudgedQuery], stage: str, hold: bool = False) -> list[Outcome]:
                progress = _counted(report, stage, len(asked), "questions")
                return answers.answer_all(
                    answering, asked, mode=mode, providers=providers, held_out=hold, on_progress=progress
                )

            own = run(queries, label)
            out = run(queries, f"{label}, gold held out", hold=True) if held_out else []
            alien = run(strangers, f"{label}, another set's questions") if strangers else []
    for message, count in answers.failures([*own, *out, *alien]):
        err_console.print(f"{count} answer(s) failed: {message}", style="yellow", markup=False)
    result = answers.summarise(
        own,
        dataset=dataset.name,
        providers=providers,
        mode=mode,
        k=k,
        ingest_seconds=ingest_seconds,
        held_out=out,
        foreign=alien,
    )
    _render(result, as_json)


@app.command("adapter")
def eval_adapter(
    dataset_dir: DatasetDir,
    train_split: Annotated[str, typer.Option("--train-split", help="qrels file to train on.")] = "train",
    split: Split = "test",
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest the corpus (into a fresh temporary data dir unless --data-dir), train a query adapter on the pairs
    of one qrels split, and score the other in vector and hybrid search without and with it."""
    from lore.evaluation import adapters
    from lore.evaluation.datasets import load_beir
    from lore.service import Lore

    train, test = load_beir(dataset_dir, train_split), load_beir(dataset_dir, split)
    with (
        tempfile.TemporaryDirectory(prefix="lore-eval-") as scratch,
        Lore.open(settings_for(data_dir or Path(scratch))) as lore,
        reporting(quiet or as_json) as report,
    ):
        ingest_seconds = _ingest(lore, test, report)

        def progress(stage: str, done: int, total: int) -> None:
            report(stage, done / total if total else None, f"{done}/{total}")

        result = adapters.run(lore, train, test, progress)
    _render({**result, "ingest_seconds": round(ingest_seconds, 2)}, as_json)


@app.command("recommendations")
def eval_recommendations(
    dataset_dir: Annotated[
        Path, typer.Argument(help="MovieLens layout: movies.csv, ratings.csv, optional tags.csv.")
    ],
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest the movies as documents (into a fresh temporary data dir unless --data-dir), tune popularity,
    item-kNN, EASE and Lore's blend on a validation period carved from training, and score each on the last
    20% of positive ratings by time: HR@10, NDCG@10 with bootstrap 95% intervals, catalogue coverage."""
    from lore.evaluation import movielens, recommendations
    from lore.intelligence.recommend.settings import fit_params
    from lore.service import Lore

    dataset = movielens.load(dataset_dir)
    with tempfile.TemporaryDirectory(prefix="lore-eval-") as scratch:
        settings = settings_for(data_dir or Path(scratch))
        with Lore.open(settings) as lore:
            result = recommendations.run(lore, dataset, fit_params(settings))
    if as_json:
        print_json(result)
    else:
        recommendations.render(result, console)


def _render(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        print_json(result)
    else:
        width = max(map(len, result), default=0)
        for key, value in result.items():
            console.print(f"{key:>{width}}  {value}", markup=False)


def _counted(report: Reporter, label: str, total: int, unit: str) -> Callable[[int], None]:
    def update(done: int) -> None:
        report(label, done / total if total else 1.0, f"{done}/{total} {unit}")

    return update


def _ingest(lore: Lore, dataset: BeirSet, report: Reporter) -> float:
    total = sum(1 for _ in dataset.corpus())
    done = lore.add_corpus(
        dataset.corpus(), on_progress=_counted(report, "ingesting corpus", total, "records")
    )
    return done.seconds


@app.command("intents")
def eval_intents(
    dataset_dir: Annotated[
        Path, typer.Argument(help="train.csv and test.csv, columns text,label (or category).")
    ],
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Train an intent model on train.csv (validation carved from it), score it once on test.csv: accuracy,
    macro-F1, training seconds, the five most confused pairs, the CPU flags it ran on."""
    from lore.evaluation.intents import evaluate
    from lore.intelligence.intents.versions import training_params
    from lore.registry import create_embedder

    settings = settings_for(data_dir)
    with reporting(quiet or as_json) as report:

        def progress(stage: str, done: int, total: int) -> None:
            report(stage, done / total if total else None, f"{done}/{total}")

        result = evaluate(dataset_dir, create_embedder(settings), training_params(settings), progress)
    _render(result, as_json)
