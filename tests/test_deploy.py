"""The deployment files stay consistent with the code: every setting they set exists, every command they run
is a `lore` command, and the manifests parse. (No container engine runs here, so nothing is deployed.)"""

from __future__ import annotations

import re
from pathlib import Path

import typer
import yaml

from lore.api.hardening.hosts import HostPolicy
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


def test_the_kubernetes_api_answers_the_names_it_is_reached_by() -> None:
    """Bound to every interface, the API still refuses unknown hosts: the ConfigMap names the Service's
    hosts, and the probes, whose Host would be the pod's IP, say one the API answers."""
    folder = ROOT / "deploy" / "kubernetes"
    config = yaml.safe_load((folder / "config.yaml").read_text())["data"]
    names = {name.removeprefix("LORE_").lower(): value for name, value in config.items()}
    settings = Settings(_env_file=None, **{name: names[name] for name in ("host", "allowed_hosts")})
    policy = HostPolicy.of(settings)
    assert settings.serving.host == "0.0.0.0" and settings.http.allowed_hosts
    api, service = yaml.safe_load_all((folder / "api.yaml").read_text())
    namespace = yaml.safe_load((folder / "kustomization.yaml").read_text())["namespace"]
    service_name = service["metadata"]["name"]
    for host in (
        service_name,
        f"{service_name}.{namespace}.svc",
        f"{service_name}.{namespace}.svc.cluster.local",
    ):
        assert policy.allows(host)
    (container,) = api["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        headers = {item["name"]: item["value"] for item in container[probe]["httpGet"]["httpHeaders"]}
        assert policy.allows(headers["Host"])
    assert not policy.allows("10.0.0.7")  # a pod IP: what the kubelet would otherwise send
