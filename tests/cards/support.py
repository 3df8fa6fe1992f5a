"""Answers of the real HTTP app per output profile, with their random uuids made comparable."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from cds_service import create_app
from cds_service.config import REPO_ROOT

FIXTURES = REPO_ROOT / "fhir_fixtures"
GOLDEN = Path(__file__).parent / "golden"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LOW_FERRITIN = "rls-low-ferritin-orders-pramipexole"
NO_IRON_STUDIES = "rls-orders-pramipexole-without-iron-studies"


def fixture(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, expected) of one scenario folder."""
    folder = FIXTURES / name
    return (json.loads((folder / "request.json").read_text("utf-8")),
            json.loads((folder / "expected.json").read_text("utf-8")))


def app_for(tmp_path: Path, now: str, **overrides: Any) -> Flask:
    when = datetime.fromisoformat(now.replace("Z", "+00:00"))
    settings = {"require_auth": False, "data_dir": tmp_path, "clock": lambda: when}
    return create_app({**settings, **overrides})


def answer(tmp_path: Path, name: str, **overrides: Any) -> dict[str, Any]:
    """The service's 200 answer to the scenario ``name`` (settings ``overrides``)."""
    body, expected = fixture(name)
    client = app_for(tmp_path, expected["now"], **overrides).test_client()
    response = client.post(f"/cds-services/{expected['service']}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def comparable(response: dict[str, Any]) -> dict[str, Any]:
    """``response`` with every uuid checked (v4, unique) and replaced: a card uuid keeps its
    first group, which names the rule; a suggestion uuid becomes ``<uuid>``; the knowledge
    hash in a card's provenance becomes ``<sha256>``."""
    uuids = []

    def walk(node: Any, card_level: bool) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "uuid":
                    assert UUID.match(value), value
                    uuids.append(value)
                    out[key] = value[:8] + "-…" if card_level else "<uuid>"
                elif key == "sha256":  # the knowledge hash in provenance: every edit moves it
                    out[key] = "<sha256>"
                else:
                    out[key] = walk(value, key == "cards")
            return out
        if isinstance(node, list):
            return [walk(item, card_level) for item in node]
        return node

    out = {k: [walk(c, True) for c in v] if k == "cards" else walk(v, False)
           for k, v in response.items()}
    assert len(uuids) == len(set(uuids)), "uuids must be unique"
    return out


def golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text("utf-8"))
