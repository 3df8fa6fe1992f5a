"""hooks/*.json <-> service modules: discovery from data, and a refusal to start on a mismatch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cds_service.errors import ConfigurationError
from cds_service.services import MODULES

REQUIRED = ("id", "hook", "description")
ALLOWED = {"id", "hook", "title", "description", "prefetch", "usageRequirements", "extension"}


@dataclass(frozen=True)
class Service:
    definition: dict[str, Any]  # the discovery entry, exactly as served
    module: ModuleType
    # Read from the definition once: every call reads them (a property is a call each time).
    id: str = field(init=False)
    hook: str = field(init=False)
    prefetch: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", self.definition["id"])
        object.__setattr__(self, "hook", self.definition["hook"])
        object.__setattr__(self, "prefetch", self.definition.get("prefetch", {}))


def _read(path: Path) -> dict[str, Any]:
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read hook definition: {exc}") from exc
    if not isinstance(definition, dict):
        raise ConfigurationError(f"{path.name}: a hook definition must be a JSON object")
    missing = [k for k in REQUIRED if not isinstance(definition.get(k), str)]
    unknown = set(definition) - ALLOWED
    if missing or unknown:
        raise ConfigurationError(f"{path.name}: missing {missing}, unknown {sorted(unknown)}")
    if definition["id"] != path.stem:
        raise ConfigurationError(f"{path.name}: id {definition['id']!r} must match the file name")
    return definition


def load_services(hooks_dir: Path, modules: tuple[ModuleType, ...] = MODULES) -> dict[str, Service]:
    """Every service, sorted by id; ConfigurationError when definitions and code disagree."""
    definitions = {d["id"]: d for d in map(_read, sorted(hooks_dir.glob("*.json")))}
    by_id = {m.SERVICE_ID: m for m in modules}
    if set(definitions) != set(by_id):
        raise ConfigurationError(
            f"hook definitions {sorted(definitions)} and service modules {sorted(by_id)} differ"
        )
    for sid, definition in definitions.items():
        if by_id[sid].HOOK != definition["hook"]:
            raise ConfigurationError(
                f"{sid}: definition says hook {definition['hook']!r}, code says {by_id[sid].HOOK!r}"
            )
    return {sid: Service(definitions[sid], by_id[sid]) for sid in sorted(definitions)}
