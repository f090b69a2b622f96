"""`make load`: Locust, from its own venv and process, drives a real `lore serve` in steps of users, and the
figures go to bench/load/results.md.

    .venv/bin/python bench/load/run.py [--users 8,16,32,64,400] [--seconds 30] [--locust .venv-load/bin/locust]

The server runs on a free loopback port with a temporary data dir holding the demo knowledge base; the
harness creates the simulated users' API keys through the API (with an admin key minted by `lore keys
create`), then runs Locust headless for `--seconds` at each step (`LOAD_USERS`, `LOAD_SECONDS` set the
defaults). Locust's CSV statistics of each step are kept in bench/results/load/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mix import SCOPES  # noqa: E402
from report import Step, markdown, read_step  # noqa: E402

from lore.evaluation.machine import cpu_flags  # noqa: E402
from lore_server import LORE, Server, lore_serve  # noqa: E402

ROOT = HERE.parent.parent
DEMO = ROOT / "src" / "lore" / "demo" / "articles"
STACKFAQ = Path(os.environ.get("LORE_BENCH_DATA", ROOT.parent / "shared" / "data")) / "stackfaq"
RESULTS = ROOT / "bench" / "results" / "load"
LOCUSTFILE = HERE / "locustfile.py"
HEADING = re.compile(r"^#{1,3} (.+)$|<h[1-3][^>]*>([^<]+)<", re.MULTILINE)


def phrases() -> tuple[list[str], list[str]]:
    """Search queries and questions: the demo articles' headings (questions where a heading is one, "How do
    I ..." otherwise), and the first StackFAQ queries for variety when the data set is there."""
    headings = sorted(
        {(a or b).strip() for path in DEMO.iterdir() for a, b in HEADING.findall(path.read_text())} - {""}
    )
    questions = [h if h.endswith("?") else f"How do I {h[0].lower()}{h[1:]}?" for h in headings]
    queries = [*headings, *questions]
    faq = STACKFAQ / "queries.jsonl"
    if faq.exists():
        with faq.open(encoding="utf-8") as lines:
            queries += [json.loads(line)["text"] for _, line in zip(range(300), lines, strict=False)]
    return queries, questions


def ingest_demo(data_dir: Path) -> None:
    command = [str(LORE), "ingest", str(DEMO), "--collection", "demo", "--quiet", "--data-dir", str(data_dir)]
    subprocess.run(command, check=True)


def create_keys(server: Server, count: int) -> list[str]:
    """The simulated users' keys, created through `POST /v1/keys` like any client would."""
    keys = []
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as client:
        for n in range(count):
            response = client.post("/v1/keys", json={"name": f"load-{n}", "scopes": list(SCOPES)})
            response.raise_for_status()
            keys.append(response.json()["key"])
    return keys


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    """Between steps: the server answers /readyz again (what the last step left running has drained)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("the server was not ready again after the step")


def run_step(server: Server, locust: Path, plan: Path, users: int, seconds: float) -> Step:
    """One headless Locust run at `users` users (spawned within about 8 s) for `seconds`."""
    prefix = RESULTS / f"step-{users}"
    command = [
        str(locust),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        server.url,
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 8)),
        "--run-time",
        f"{seconds:.0f}s",
        "--csv",
        str(prefix),
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["LORE_LOAD_PLAN"] = str(plan)
    with (RESULTS / f"step-{users}.log").open("w") as log:
        done = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + 120)
    if done.returncode:
        raise RuntimeError(f"locust exited with {done.returncode}: see {RESULTS / f'step-{users}.log'}")
    return read_step(prefix, users, seconds)


def print_step(step: Step) -> None:
    print(
        f"  {step.users:>4} users  {step.total.per_second:7.1f} req/s  errors {step.failed:>5} "
        f"({100 * step.rate(step.failed):.2f}%)  shed {step.shed:>5} ({100 * step.rate(step.shed):.2f}%)  "
        f"p50 {step.total.p50:.0f} ms  p99 {step.total.p99:.0f} ms",
        flush=True,
    )


def machine() -> dict[str, object]:
    flags = cpu_flags()
    return {
        "cores": os.cpu_count(),
        "CPU flags": ", ".join(flags) or "none of those Lore cares about",
        "load average at the start (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", default=os.environ.get("LOAD_USERS", "8,16,32,64,400"))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", "30")))
    parser.add_argument("--keys", type=int, default=16, help="API keys the users share")
    parser.add_argument("--timeout", type=float, default=30.0, help="a request taking longer has failed")
    parser.add_argument("--locust", type=Path, default=ROOT / ".venv-load" / "bin" / "locust")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    users = [int(n) for n in args.users.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    about = machine()
    queries, questions = phrases()
    steps = []
    with tempfile.TemporaryDirectory(prefix="lore-load-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        ingest_demo(data_dir)
        with lore_serve(data_dir, 1, RESULTS / "serve.log") as server:
            plan = Path(scratch) / "plan.json"
            keys = create_keys(server, args.keys)
            plan.write_text(
                json.dumps(
                    {"keys": keys, "queries": queries, "questions": questions, "timeout": args.timeout}
                )
            )
            print(
                f"lore serve at {server.url}; {len(keys)} keys; steps {users} of {args.seconds:.0f} s",
                flush=True,
            )
            for count in users:
                steps.append(run_step(server, args.locust, plan, count, args.seconds))
                print_step(steps[-1])
                wait_ready(server)
    about["load average at the end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    notes = [
        f"one `lore serve` worker, default settings, demo knowledge base; {args.keys} API keys; Locust "
        f"{args.seconds:.0f} s per step, users think 0.2 to 1 s between tasks, client timeout {args.timeout:.0f} s",
        "shed: a 429/503 with `Retry-After`, which the user then waits; error: any other unexpected answer, a "
        "timeout or a connection error",
    ]
    text = markdown(steps, about, notes)
    args.out.write_text(text)
    print("\n" + text)


if __name__ == "__main__":
    main()
