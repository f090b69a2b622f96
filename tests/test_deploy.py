"""The deployment files stay consistent with the code: every setting they set exists, every command they run
is a `lore` command, and the manifests parse. (No container engine runs here, so nothing is deployed.)"""

from __future__ import annotations

import re
from pathlib import Path

import typer
import yaml

from lore.cli.main import app
from lore.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_FILES = [
    ROOT / "Dockerfile",
    ROOT / "compose.yaml",
    *sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")),
]
SETTING = re.compile(r"\bLORE_[A-Z0-9_]+\b")


def documents() -> list[dict[str, object]]:
    return [
        doc for path in DEPLOY_FILES if path.suffix == ".yaml" for doc in yaml.safe_load_all(path.read_text())
    ]


def commands(node: object) -> list[list[str]]:
    """Every `command:` list anywhere in the manifests."""
    if isinstance(node, dict):
        found = [node["command"]] if isinstance(node.get("command"), list) else []
        return found + [c for value in node.values() for c in commands(value)]
    if isinstance(node, list):
        return [c for item in node for c in commands(item)]
    return []


def test_every_setting_named_in_deployment_files_exists() -> None:
    known = {f"LORE_{name.upper()}" for name in Settings.setting_fields()}
    named = {match for path in DEPLOY_FILES for match in SETTING.findall(path.read_text())}
    assert named, "the deployment files configure Lore through LORE_* settings"
    assert sorted(named - known) == []


def test_every_command_the_manifests_run_is_a_lore_command() -> None:
    group = typer.main.get_command(app)
    run = [command for command in commands(documents()) if command[0] == "lore"]
    assert {command[1] for command in run} >= {"serve", "worker", "migrate"}
    assert sorted({command[1] for command in run} - set(group.commands)) == []  # type: ignore[attr-defined]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["lore", "serve"]' in dockerfile


def test_kustomization_lists_every_manifest() -> None:
    folder = ROOT / "deploy" / "kubernetes"
    listed = set(yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in folder.glob("*.yaml")} - {"kustomization.yaml"}
