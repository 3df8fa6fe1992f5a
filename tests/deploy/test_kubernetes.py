"""deploy/kubernetes/: valid for Kubernetes 1.29 and the newest, consistent with the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .support import REPO, dockerfile_stages, exec_form, tool_missing

K8S = REPO / "deploy" / "kubernetes"
VERSIONS = ("1.29.0", "latest")


def load(path: Path) -> list[dict[str, Any]]:
    """The YAML documents of ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@pytest.fixture(scope="module")
def kinds() -> dict[str, dict[str, Any]]:
    """Every applied resource by kind (one of each here)."""
    kustomization = load(K8S / "kustomization.yaml")[0]
    found: dict[str, dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for doc in load(K8S / name):
            assert doc["kind"] not in found, f"two {doc['kind']} resources"
            found[doc["kind"]] = doc
    return found


def manifest_files() -> list[Path]:
    """Every manifest except the kustomization itself."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_validate_strictly(version: str) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        tool_missing("kubernetes_validate")
    target = kubernetes_validate.latest_version() if version == "latest" else version
    checked = 0
    for path in manifest_files():
        for doc in load(path):
            try:
                kubernetes_validate.validate(doc, target, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{path.name}: {'.'.join(map(str, exc.path))}: {exc.message}")
            checked += 1
    assert checked >= 6


def test_validator_rejects_a_misspelled_field() -> None:
    try:
        import kubernetes_validate
    except ImportError:
        tool_missing("kubernetes_validate")
    deployment = load(K8S / "deployment.yaml")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_applies_everything_but_the_secret_example() -> None:
    listed = set(load(K8S / "kustomization.yaml")[0]["resources"])
    assert listed == {p.name for p in manifest_files()} - {"secret.example.yaml"}


def container(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The service container of the Deployment."""
    [only] = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def test_deployment_probes_resources_and_secrets(kinds: dict[str, dict[str, Any]]) -> None:
    app = container(kinds)
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(app["resources"]["limits"])
    assert {"cpu", "memory"} <= set(app["resources"]["requests"])
    env = {e["name"]: e for e in app["env"]}
    secret = env["CDS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert secret["name"] == "rls-cds-secrets"
    assert env["CDS_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "rls-cds-secrets"
    config_name = kinds["ConfigMap"]["metadata"]["name"]
    assert {"configMapRef": {"name": config_name}} in app["envFrom"]
    config = kinds["ConfigMap"]["data"]
    assert not any(key in config for key in ("CDS_DATABASE_URL", "CDS_REDIS_URL"))
    example = load(K8S / "secret.example.yaml")[0]
    assert example["metadata"]["name"] == "rls-cds-secrets"
    assert {"database-url", "redis-url"} == set(example["stringData"])


def test_deployment_matches_the_image(kinds: dict[str, dict[str, Any]]) -> None:
    final = dockerfile_stages()[-1]
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    app = container(kinds)
    uid, _, gid = (final.last("USER") or "").partition(":")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == uid
    assert str(pod["securityContext"]["runAsGroup"]) == gid
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    port = int(exec_form(final.last("CMD") or "[]")[-1])
    assert app["ports"][0]["containerPort"] == port
    tmp = {m["mountPath"] for m in app["volumeMounts"]}
    assert "/tmp" in tmp, "the prometheus multiprocess directory needs a writable /tmp"


def test_shutdown_budget_covers_the_graceful_timeout(kinds: dict[str, dict[str, Any]]) -> None:
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    pause = int(container(kinds)["lifecycle"]["preStop"]["exec"]["command"][-1])
    graceful = int(kinds["ConfigMap"]["data"]["CDS_GRACEFUL_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] > pause + graceful


def test_service_and_autoscaler_point_at_the_deployment(kinds: dict[str, dict[str, Any]]) -> None:
    deployment = kinds["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = kinds["Service"]["spec"]["selector"]
    assert selector.items() <= labels.items()
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    pdb = kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= labels.items()
