"""Ask a real `lore serve` through two generic OpenAI clients, `llm` and LangChain's `ChatOpenAI`, each installed
in an environment of its own, and check that both show the answer's sources.

    python scripts/openai_clients.py [--venv /tmp/lore-openai-clients] [--question "Why is my PDF not searchable?"]

The clients are pinned below and installed from PyPI into `--venv` (kept, so a second run installs nothing);
they never enter Lore's own environment. The server runs on a free loopback port over a temporary data dir
with the demo articles, and both clients ask the model `lore+sources`, whose message text ends with the cited
passages ("Sources:"), because neither client shows the extra fields where Lore's citations also are. Exit
status 0 when both printed an answer with its sources, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import httpx

CLIENTS = ("llm==0.36", "langchain-openai==1.7.4")
MODEL = "lore+sources"
LANGCHAIN = """
import sys
from langchain_openai import ChatOpenAI
chat = ChatOpenAI(model=sys.argv[1], base_url=sys.argv[2], api_key=sys.argv[3], max_retries=0)
print(chat.invoke(sys.argv[4]).content)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_env(path: Path) -> Path:
    """The clients' own virtual environment, made and filled once."""
    python = path / "bin" / "python"
    if not python.exists():
        venv.create(path, with_pip=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *CLIENTS], check=True
    )
    return path / "bin"


def wait_ready(url: str, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"lore serve exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("lore serve was not ready in time")


def ask_llm(bin_dir: Path, base: str, key: str, question: str, home: Path) -> str:
    """`llm` reads OpenAI-compatible models from extra-openai-models.yaml in its user directory."""
    (home / "extra-openai-models.yaml").write_text(
        f'- model_id: lore\n  model_name: "{MODEL}"\n  api_base: "{base}"\n  api_key_name: lore\n'
    )
    env = {**os.environ, "LLM_USER_PATH": str(home)}
    subprocess.run([bin_dir / "llm", "keys", "set", "lore", "--value", key], check=True, env=env)
    done = subprocess.run(
        [bin_dir / "llm", "-m", "lore", question], capture_output=True, text=True, env=env, timeout=120
    )
    return done.stdout + done.stderr


def ask_langchain(bin_dir: Path, base: str, key: str, question: str) -> str:
    done = subprocess.run(
        [bin_dir / "python", "-c", LANGCHAIN, MODEL, base, key, question],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "lore-openai-clients")
    parser.add_argument("--question", default="Why is my PDF not searchable?")
    args = parser.parse_args()
    bin_dir = client_env(args.venv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "data"
        env = {**os.environ, "LORE_DATA_DIR": str(data_dir)}
        command = [
            sys.executable,
            "-m",
            "lore",
            "serve",
            "--demo",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(url, server)
            key = (data_dir / "demo-key").read_text().strip()
            results = {
                "llm": ask_llm(bin_dir, f"{url}/v1", key, args.question, Path(scratch)),
                "ChatOpenAI": ask_langchain(bin_dir, f"{url}/v1", key, args.question),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    ok = True
    for client, output in results.items():
        shows = "Sources:" in output and "[1]" in output
        ok &= shows
        print(f"--- {client}: {'sources shown' if shows else 'NO SOURCES'}\n{output.strip()}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
