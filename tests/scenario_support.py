"""Loading and running the clinical scenarios of ``fhir_fixtures/`` through the real HTTP app.

Each scenario is a folder with ``request.json`` (a complete CDS Hooks request) and
``expected.json``::

    {
      "description": "...",
      "now": "2026-06-15T09:00:00Z",          # injected as the service clock
      "service": "rls-order-select",          # POST /cds-services/<service>
      "known_issue": "...",                   # optional: the cards test is a strict xfail
      "response_excludes": ["..."],           # optional: must not appear anywhere in the response
      "cards": [                              # compared as a set of (rule, indicator)
        {"rule": "dopamine-agonist-against", "indicator": "warning",
         "detail_contains": ["..."],          # optional: substrings of the card's detail
         "detail_excludes": ["..."],          # optional: must not be in the card's detail
         "deletes": ["MedicationRequest/x"]}  # optional: one suggestion deletes all of these
      ]
    }
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from cds_service.app import create_app
from cds_service.knowledge import Knowledge, load_knowledge

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fhir_fixtures"
HOOKS = REPO / "hooks"
ORDER_HOOKS = ("order-select", "order-sign")


@dataclass(frozen=True)
class Scenario:
    name: str
    folder: Path
    request: dict[str, Any]
    expected: dict[str, Any]

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.expected["now"].replace("Z", "+00:00"))

    @property
    def service(self) -> str:
        return self.expected["service"]

    @property
    def hook(self) -> str:
        return self.request["hook"]

    @property
    def known_issue(self) -> str | None:
        return self.expected.get("known_issue")

    def expected_pairs(self) -> set[tuple[str, str]]:
        return {(c["rule"], c["indicator"]) for c in self.expected["cards"]}

    def draft_refs(self) -> set[str]:
        """'Type/id' of every resource in context.draftOrders."""
        bundle = self.request["context"].get("draftOrders") or {}
        return {
            f"{e['resource']['resourceType']}/{e['resource'].get('id')}"
            for e in bundle.get("entry") or ()
            if isinstance(e.get("resource"), Mapping)
        }

    def input_resources(self) -> Iterator[dict[str, Any]]:
        """Every resource of the request: prefetch values, their entries, and draft orders."""
        values = [*self.request["prefetch"].values(), self.request["context"].get("draftOrders")]
        for value in values:
            if not isinstance(value, Mapping):
                continue
            if value.get("resourceType") == "Bundle":
                for entry in value.get("entry") or ():
                    yield entry["resource"]
            else:
                yield dict(value)

    def judged_refs(self) -> set[str]:
        """The orders the service judges: selections at order-select, every draft at order-sign."""
        if self.hook == "order-select":
            return set(self.request["context"]["selections"])
        return self.draft_refs() if self.hook == "order-sign" else set()


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def load_scenarios() -> tuple[Scenario, ...]:
    """Every scenario folder (one holding request.json), sorted by name."""
    return tuple(
        Scenario(
            folder.name,
            folder,
            _read_json(folder / "request.json"),
            _read_json(folder / "expected.json"),
        )
        for folder in sorted(FIXTURES.iterdir())
        if folder.is_dir() and (folder / "request.json").exists()
    )


def scenario(name: str) -> Scenario:
    return next(s for s in load_scenarios() if s.name == name)


@cache
def service_definition(service_id: str) -> dict[str, Any]:
    return _read_json(HOOKS / f"{service_id}.json")


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: Any


@cache
def answer(name: str) -> Answer:
    """POST the scenario's request to its service on a fresh app whose clock is ``now``."""
    sc = scenario(name)
    now = sc.now
    app = create_app({"require_auth": False, "clock": lambda: now})
    client = app.test_client()
    response = client.post(
        f"/cds-services/{sc.service}",
        data=json.dumps(sc.request),
        content_type="application/json",
    )
    return Answer(response.status_code, response.mimetype or "", response.get_json(silent=True))


@cache
def response_validator() -> Draft202012Validator:
    text = resources.files("cds_service.schemas").joinpath("cds-response.schema.json").read_text()
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def knowledge() -> Knowledge:
    return load_knowledge()


def r4b_model(resource_type: str) -> Any:
    """The fhir.resources R4B model class for ``resource_type`` (e.g. MedicationRequest)."""
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def card_rule(card: Mapping[str, Any]) -> str:
    return card["source"]["topic"]["code"]


def actions(card: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(suggestion, action) for every action of every suggestion of ``card``."""
    for suggestion in card.get("suggestions") or ():
        for action in suggestion.get("actions") or ():
            yield suggestion, action


def deleted_ids(suggestion: Mapping[str, Any]) -> set[str]:
    return {
        a["resourceId"]
        for a in suggestion.get("actions") or ()
        if a.get("type") == "delete" and "resourceId" in a
    }


def empty_values(value: Any, path: str = "$") -> Iterator[str]:
    """Paths of null, "", [] or {} anywhere below ``value`` (conformance note J1)."""
    if value is None or value == "" or value == [] or value == {}:
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from empty_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from empty_values(item, f"{path}[{i}]")


def competing_note_prefix(k: Knowledge) -> str:
    """The fixed opening of the competing-indication note (text before its first placeholder)."""
    return k.notes["competing-indication"].split("{")[0].strip()
