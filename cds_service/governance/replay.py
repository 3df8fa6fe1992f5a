"""Replay CDS requests through two knowledge versions and list the cards that appear, disappear
or change, so a site can gate a knowledge update in its own CI (``rls-cds replay``)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cds_service.config import REPO_ROOT, Settings
from cds_service.errors import CdsError
from cds_service.hook_call import call_service
from cds_service.knowledge import FILES, Knowledge, load_knowledge_dir
from cds_service.registry import Service, load_services

KNOWLEDGE_PATH = "cds_service/knowledge"  # where a git revision keeps the knowledge files
DEFAULT_REQUESTS = REPO_ROOT / "fhir_fixtures"
COMPARED = ("indicator", "summary", "detail", "suggestions")


@dataclass(frozen=True)
class Request:
    name: str
    body: dict[str, Any]
    now: datetime
    service: str | None = None


@dataclass(frozen=True)
class CardChange:
    request: str
    rule: str
    kind: str  # appeared, disappeared, changed
    old: dict[str, Any] | None = None  # the compared fields
    new: dict[str, Any] | None = None

    @property
    def fields(self) -> list[str]:
        if self.old is None or self.new is None:
            return []
        return [f for f in COMPARED if self.old.get(f) != self.new.get(f)]

    def as_json(self) -> dict[str, Any]:
        return {"request": self.request, "rule": self.rule, "change": self.kind,
                "fields": self.fields, "old": self.old, "new": self.new}


@dataclass
class ReplayResult:
    old_label: str
    new_label: str
    requests: int = 0
    changes: list[CardChange] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (request, message)

    def counts(self) -> dict[str, int]:
        kinds = Counter(c.kind for c in self.changes)
        changed_requests = {c.request for c in self.changes}
        return {"requests": self.requests, "requests_changed": len(changed_requests),
                "appeared": kinds["appeared"], "disappeared": kinds["disappeared"],
                "changed": kinds["changed"], "errors": len(self.errors)}

    def as_json(self) -> dict[str, Any]:
        return {"from": self.old_label, "to": self.new_label, "summary": self.counts(),
                "changes": [c.as_json() for c in self.changes],
                "errors": [{"request": r, "error": e} for r, e in self.errors]}


def knowledge_at(source: str, scratch: Path) -> Knowledge:
    """A knowledge directory, or a git revision of ``cds_service/knowledge`` in this repo;
    ValueError when it cannot be read or does not fit this version of the code."""
    try:
        return load_knowledge_dir(_directory(source, scratch))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the knowledge of {source!r} does not fit this version of the code "
                         f"(missing or malformed {exc})") from None


def _directory(source: str, scratch: Path) -> Path:
    path = Path(source)
    if path.is_dir():
        return path
    target = scratch / f"rev-{len(list(scratch.iterdir()))}"
    target.mkdir()
    for name in FILES:
        shown = subprocess.run(
            ["git", "show", f"{source}:{KNOWLEDGE_PATH}/{name}.json"], cwd=REPO_ROOT,
            capture_output=True, text=True, check=False,
        )
        if shown.returncode != 0:
            raise ValueError(f"{source!r} is neither a directory nor a git revision with "
                             f"{KNOWLEDGE_PATH}/{name}.json ({shown.stderr.strip()})")
        (target / f"{name}.json").write_text(shown.stdout, "utf-8")
    return target


def _request(path: Path, default_now: datetime) -> Request:
    """A request file; a fixture folder's expected.json gives ``now`` and the service."""
    folder = path.parent
    expected: dict[str, Any] = {}
    if (folder / "expected.json").is_file():
        expected = json.loads((folder / "expected.json").read_text("utf-8"))
    now = default_now
    if expected.get("now"):
        now = datetime.fromisoformat(expected["now"].replace("Z", "+00:00"))
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    name = folder.name if path.name == "request.json" else str(path)
    return Request(name, json.loads(path.read_text("utf-8")), now, expected.get("service"))


def collect_requests(paths: Sequence[str | Path], now: datetime | None = None) -> list[Request]:
    """Request files, folders holding request.json, or folders of such folders (sorted)."""
    now = now or datetime.now(UTC)
    files: list[Path] = []
    for raw in paths or [DEFAULT_REQUESTS]:
        path = Path(raw)
        if path.is_file():
            files.append(path)
        elif (path / "request.json").is_file():
            files.append(path / "request.json")
        elif path.is_dir():
            files += sorted(path.glob("*/request.json"))
        else:
            raise ValueError(f"no such request file or folder: {path}")
    return [_request(f, now) for f in files]


def _service(services: dict[str, Service], request: Request) -> Service | None:
    if request.service:
        return services.get(request.service)
    matching = [s for s in services.values() if s.hook == request.body.get("hook")]
    return matching[0] if len(matching) == 1 else None


def _cards(knowledge: Knowledge, settings: Settings, service: Service, request: Request
           ) -> list[tuple[str, dict[str, Any]]]:
    timed = dataclasses.replace(settings, clock=lambda: request.now)
    outcome = call_service(knowledge, timed, service, request.body)
    return list(zip(outcome.rule_ids, outcome.response["cards"], strict=True))


def compared(card: dict[str, Any]) -> dict[str, Any]:
    """What a reviewer compares (never uuids or provenance, which differ on every run)."""
    return {
        "indicator": card.get("indicator"),
        "summary": card.get("summary"),
        "detail": card.get("detail"),
        "suggestions": [s.get("label") for s in card.get("suggestions", [])],
    }


def _diff(name: str, old: Iterable[tuple[str, dict]], new: Iterable[tuple[str, dict]]
          ) -> list[CardChange]:
    def keyed(cards: Iterable[tuple[str, dict]]) -> dict[tuple[str, int], dict[str, Any]]:
        seen: Counter[str] = Counter()
        out = {}
        for rule, card in cards:
            out[(rule, seen[rule])] = compared(card)
            seen[rule] += 1
        return out

    before, after = keyed(old), keyed(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is None:
            changes.append(CardChange(name, key[0], "appeared", None, b))
        elif b is None:
            changes.append(CardChange(name, key[0], "disappeared", a, None))
        elif a != b:
            changes.append(CardChange(name, key[0], "changed", a, b))
    return changes


def replay(
    old: Knowledge, new: Knowledge, requests: Sequence[Request], settings: Settings,
    labels: tuple[str, str] = ("old", "new"),
) -> ReplayResult:
    """Every request through both versions; the cards that differ."""
    services = load_services(settings.hooks_dir)
    result = ReplayResult(*labels, requests=len(requests))
    for request in requests:
        service = _service(services, request)
        if service is None:
            result.errors.append((request.name, "no service answers this request's hook"))
            continue
        try:
            before = _cards(old, settings, service, request)
            after = _cards(new, settings, service, request)
        except CdsError as exc:
            result.errors.append((request.name, f"HTTP {exc.status}: {exc.message}"))
            continue
        result.changes += _diff(request.name, before, after)
    return result


def replay_sources(old: str, new: str, paths: Sequence[str], settings: Settings,
                   now: datetime | None = None) -> ReplayResult:
    """``replay`` with each version given as a directory or a git revision."""
    with tempfile.TemporaryDirectory(prefix="rls-cds-replay-") as scratch:
        before, after = knowledge_at(old, Path(scratch)), knowledge_at(new, Path(scratch))
    return replay(before, after, collect_requests(paths, now), settings, (old, new))
