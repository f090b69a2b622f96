"""How long `lore` commands take from the shell, against the bare interpreter measured in the same run.

    .venv/bin/python bench/bench_cli_startup.py [--runs 5] [--data-dir DIR] [--no-server]

Each command runs `--runs` times as a fresh process (`python -m lore ...`, as the `lore` script runs it) on a data
dir holding the demo knowledge base (ingested first into a temporary one unless `--data-dir`). Printed per
command: median wall-clock and CPU milliseconds (user + system of the child), the ratio of each to `python -c
pass` (the floor no command can beat) and, for commands that read the store, to importing the libraries they
cannot do without (SQLAlchemy, pydantic-settings, typer, rich: what is left is Lore's own cost), how many modules
it imported and which heavy ones (from `python -X importtime`). With a server (the default), `lore search` and
`lore ask` run once more while a `lore serve` of the same data dir is up, which they use.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchkit import ROOT, cpu_flags, ratio, table, write_result
from lore_server import lore_serve

HEAVY = (
    "openai",
    "anthropic",
    "numpy",
    "onnxruntime",
    "tokenizers",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "usearch",
    "fastapi",
    "uvicorn",
    "scipy",
    "sklearn",
)
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "--version": ["--version"],
    "documents list": ["documents", "list"],
    "search": ["search", "reset my password"],
    "ask": ["ask", "How do I reset my password?"],
}
DEMO = ROOT / "src" / "lore" / "demo" / "articles"
LIBRARIES = "import sqlalchemy, pydantic_settings, typer, rich.table"  # what reading the store needs
STORE_COMMANDS = ("documents list", "search (server up)", "ask (server up)")


def run_once(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall and CPU seconds of one child process, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def measure(argv: Sequence[str], env: dict[str, str], runs: int) -> dict[str, float]:
    samples = [run_once(argv, env) for _ in range(runs)]
    return {
        "wall_ms": round(1000 * statistics.median(s[0] for s in samples), 1),
        "cpu_ms": round(1000 * statistics.median(s[1] for s in samples), 1),
        "exit": float(samples[-1][2]),
    }


def imports(argv: Sequence[str], env: dict[str, str]) -> tuple[int, list[str]]:
    """How many modules `python -X importtime` saw, and which of `HEAVY` among them."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, env=env, check=False
    )
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", done.stderr, re.MULTILINE)
    tops = {name.split(".")[0] for name in names}
    return len(names), [name for name in HEAVY if name in tops]


def demo_data_dir(scratch: Path, env: dict[str, str]) -> Path:
    data_dir = scratch / "data"
    subprocess.run(
        [sys.executable, "-m", "lore", "ingest", str(DEMO), "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        env=env,
        check=True,
    )
    return data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, help="a data dir to use (default: the demo, ingested)")
    parser.add_argument("--no-server", action="store_true", help="skip the runs against a `lore serve`")
    args = parser.parse_args()
    env = {key: value for key, value in os.environ.items() if key != "LORE_KEY"}
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lore-startup-")))
        data_dir = args.data_dir or demo_data_dir(scratch, env)
        env = {**env, "LORE_DATA_DIR": str(data_dir)}
        references = {
            "floor": measure([sys.executable, "-c", "pass"], env, args.runs),
            "libraries": measure([sys.executable, "-c", LIBRARIES], env, args.runs),
        }
        results = {name: run_command(command, env, args.runs) for name, command in COMMANDS.items()}
        if not args.no_server:
            server = stack.enter_context(lore_serve(data_dir, 1, scratch / "serve.log"))
            served = {**env, "LORE_KEY": server.key}
            for name in ("search", "ask"):
                results[f"{name} (server up)"] = run_command(COMMANDS[name], served, args.runs)
    report(results, references, args.runs)


def run_command(command: Sequence[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "lore", *command]
    count, heavy = imports(argv, env)
    return {**measure(argv, env, runs), "modules": count, "heavy": heavy}


def report(results: dict[str, dict[str, Any]], references: dict[str, dict[str, float]], runs: int) -> None:
    floor, libraries = references["floor"], references["libraries"]
    rows = [
        [
            name,
            result["wall_ms"],
            ratio(result["wall_ms"], floor["wall_ms"]),
            result["cpu_ms"],
            ratio(result["cpu_ms"], floor["cpu_ms"]),
            ratio(result["cpu_ms"], libraries["cpu_ms"]) if name in STORE_COMMANDS else "-",
            int(result["exit"]),
            result["modules"],
            " ".join(result["heavy"]) or "-",
        ]
        for name, result in results.items()
    ]
    print(
        f"cpu flags: {' '.join(cpu_flags()) or 'unknown'}; load average {os.getloadavg()[0]:.2f}; {runs} runs each"
    )
    print(f"floor (python -c pass): {floor['wall_ms']} ms wall, {floor['cpu_ms']} ms CPU")
    print(
        f"libraries (python -c '{LIBRARIES}'): {libraries['wall_ms']} ms wall, {libraries['cpu_ms']} ms CPU"
    )
    header = [
        "command",
        "wall ms",
        "x floor",
        "cpu ms",
        "x floor",
        "x libs",
        "exit",
        "modules",
        "heavy imports",
    ]
    print(table(header, rows))
    path = write_result("cli_startup", {"runs": runs, **references, "commands": results})
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
