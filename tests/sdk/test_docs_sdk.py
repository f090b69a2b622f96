"""docs/sdk.md is kept honest: its Python snippets run, in order and in one namespace, against a real server
(its URL and the operator's key put in for the placeholders, the user of its login snippet created first)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lore_client import Lore

from tests.served import ServedLore

DOC = Path(__file__).parents[2] / "docs" / "sdk.md"
SNIPPET = re.compile(r"```python\n(.*?)```", re.DOTALL)


def snippets() -> list[str]:
    return SNIPPET.findall(DOC.read_text())


def test_the_guide_shows_the_ten_tasks() -> None:
    tasks = re.findall(r"^### (\d+)\. ", DOC.read_text(), re.MULTILINE)
    assert tasks == [str(n) for n in range(1, 11)]
    assert len(snippets()) >= 10


def test_every_snippet_of_the_guide_runs(
    served: ServedLore,
    lore: Lore,
    operator_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lore.users.create("ada@example.com", role="editor", password="correct horse battery staple")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "sdk_guide"}

    def run_guide() -> None:
        for number, snippet in enumerate(snippets(), 1):
            code = snippet.replace("http://127.0.0.1:8000", served.url).replace("lore_sk_...", operator_key)
            exec(compile(code, f"docs/sdk.md snippet {number}", "exec"), namespace)

    try:  # on a thread of its own: the guide's asyncio.run needs one with no event loop (tests/event_loops.py)
        with ThreadPoolExecutor(1) as thread:
            thread.submit(run_guide).result()
    finally:
        for client in [value for value in namespace.values() if isinstance(value, Lore)]:
            client.close()  # the guide's clients, left open as a script may leave them
    printed = capsys.readouterr().out
    assert "[1] Refunds" in printed  # the streamed answer's citations
    assert "404 not_found" in printed  # the error's status and code
    assert "Shipping" in printed
