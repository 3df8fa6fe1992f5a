"""docker-compose.yml: the compose-spec schema, dclint, dependencies, healthchecks, settings."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .support import REPO

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
# hapiproject/hapi is distroless (no shell, no curl): hapi-preload polls it instead.
NO_HEALTHCHECK_POSSIBLE = {"hapi"}
ONE_SHOT = {"hapi-preload"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed compose file."""
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_valid_against_the_compose_spec_schema(
    compose: dict[str, Any], compose_schema: Path
) -> None:
    schema = json.loads(compose_schema.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_file(compose: dict[str, Any], compose_schema: Path) -> None:
    schema = json.loads(compose_schema.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(compose))
    broken["services"]["cds"]["depends_on"]["redis"]["condition"] = "service_ready"
    broken["services"]["cds"]["helthcheck"] = {}
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) >= 2


def test_dclint_finds_no_error_and_no_warning(dclint: Path) -> None:
    result = subprocess.run(
        [str(dclint), "--max-warnings", "0", "--no-color", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_depends_on_names_a_defined_service(compose: dict[str, Any]) -> None:
    services = set(compose["services"])
    for name, service in compose["services"].items():
        depends = service.get("depends_on", {})
        names = depends if isinstance(depends, list) else list(depends)
        assert set(names) <= services - {name}, f"{name} depends on {set(names) - services}"
        if isinstance(depends, dict):
            for dep, spec in depends.items():
                if spec["condition"] == "service_healthy":
                    assert "healthcheck" in compose["services"][dep], f"{name} -> {dep}"


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in NO_HEALTHCHECK_POSSIBLE | ONE_SHOT:
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
    assert compose["services"]["cds"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_cds_service_settings(compose: dict[str, Any]) -> None:
    cds = compose["services"]["cds"]
    assert cds["build"]["dockerfile"] == "Dockerfile"
    env = cds["environment"]
    assert env["CDS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["CDS_DATABASE_URL"]
    assert env["CDS_REDIS_URL"] == "redis://redis:6379/0"
    assert env["CDS_FHIR_SERVER_ALLOWLIST"] == "http://hapi:8080/fhir"
    assert env["CDS_FHIR_ALLOW_HTTP"] == "true"
    assert env["CDS_REQUIRE_AUTH"] == "true"
    assert env["CDS_ENABLE_CONSOLE"] == "false"
    assert "CDS_TRUSTED_ISSUERS" not in env, "issuers come from the env file"
    assert {"path": ".env", "required": True} in cds["env_file"]
    assert any(str(p).endswith(":8080") for p in cds["ports"])
    grace = int(re.fullmatch(r"(\d+)s", cds["stop_grace_period"]).group(1))
    assert grace > 30, "longer than the default CDS_GRACEFUL_TIMEOUT"


def test_hapi_preload_mounts_the_fixture_material(compose: dict[str, Any]) -> None:
    preload = compose["services"]["hapi-preload"]
    assert preload["image"].startswith("curlimages/curl:")
    assert compose["services"]["hapi"]["image"].startswith("hapiproject/hapi:")
    [volume] = preload["volumes"]
    source, target, _mode = volume.split(":")
    assert (REPO / source).resolve() == REPO / "deploy" / "hapi"
    assert preload["entrypoint"][-1] == f"{target}/preload.sh"
    assert (REPO / "deploy/hapi/preload.sh").exists()
    assert (REPO / "deploy/hapi/fixture-patients.json").exists()


def test_env_example_defines_every_required_variable() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            example[name.strip()] = value.strip()
    assert required and required <= set(example), required - set(example)
    issuers = json.loads(example["CDS_TRUSTED_ISSUERS"].strip("'"))
    assert all("jwks_url" in entry for entry in issuers.values())
    assert all(name.startswith(("CDS_", "POSTGRES_")) for name in example)
