"""The response linter: every element a client would reject or ignore, with the vendor's reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cds_service.cards.profiles.constraints import (
    Constraint,
    ConstraintTable,
    constraint_table,
    first,
    resolve,
)

_MISSING = object()


@dataclass(frozen=True)
class LintFinding:
    """One element of a response that breaks one documented constraint."""

    constraint: str
    path: str
    problem: str
    effect: str
    quote: str
    section: str
    source: str
    url: str

    def as_json(self) -> dict[str, str]:
        return asdict(self)

    def line(self) -> str:
        return (
            f"{self.path}: {self.problem} [{self.constraint}; {self.effect}]\n"
            f"    \"{self.quote}\"\n    {self.source}, {self.section} <{self.url}>"
        )


def _enum(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    values = c.params["values"]
    return None if value in values else f"{value!r} is not one of {values}"


def _pattern(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(c.params["pattern"], value)
    return None if ok else f"{value!r} does not match {c.params['pattern']}"


def _max_length(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    limit = c.params["limit"]
    return None if len(str(value)) <= limit else f"{len(str(value))} characters (limit {limit})"


def _max_items(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    limit = c.params["limit"]
    count = len(value) if isinstance(value, list) else 1
    return None if count <= limit else f"{count} items (limit {limit})"


def _required(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    return f"{c.field} is missing" if value in (_MISSING, None, "") else None


def _absent(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    return None if value is _MISSING else f"{c.field} is present"


def _allowed_keys(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    extra = sorted(set(value) - set(c.params["keys"])) if isinstance(value, Mapping) else []
    return f"carries {', '.join(extra)}" if extra else None


def _coding_system(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    codings = value.get("coding") if isinstance(value, Mapping) else None
    systems = [x.get("system") for x in codings or [] if isinstance(x, Mapping)]
    if any(s in c.params["systems"] for s in systems):
        return None
    return f"no coding in {c.params['systems']} (systems sent: {systems or 'none'})"


def _allowlist(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    allowed = site.get(c.params["setting"]) or []
    return None if value in allowed else f"{value!r} is not on the configured allowlist"


def _create_before_delete(c: Constraint, value: Any, site: Mapping[str, Any]) -> str | None:
    actions = value if isinstance(value, list) else []
    types = [a.get("type") for a in actions if isinstance(a, Mapping)]
    if "delete" in types and "create" in types[types.index("delete"):]:
        return f"a delete comes before a create ({', '.join(map(str, types))})"
    return None


CHECKS: dict[str, Callable[[Constraint, Any, Mapping[str, Any]], str | None]] = {
    "enum": _enum,
    "pattern": _pattern,
    "max-length": _max_length,
    "max-items": _max_items,
    "required": _required,
    "absent": _absent,
    "allowed-keys": _allowed_keys,
    "coding-system": _coding_system,
    "allowlist": _allowlist,
    "create-before-delete": _create_before_delete,
}
_PRESENCE_RULES = ("required", "absent")


def _applies(c: Constraint, node: Any) -> bool:
    return all(first(node, path) == wanted for path, wanted in c.when.items())


def check(
    document: Any, c: Constraint, table: ConstraintTable, site: Mapping[str, Any]
) -> list[LintFinding]:
    """The findings of one constraint on one document."""
    source = table.sources[c.source]
    out = []
    for at, node in resolve(document, c.path):
        if not _applies(c, node):
            continue
        where, value = at, node
        if c.field is not None:
            hits = list(resolve(node, c.field, at))
            if not hits and c.rule not in _PRESENCE_RULES:
                continue  # an optional element that is absent breaks nothing
            where, value = hits[0] if hits else (f"{at}.{c.field}", _MISSING)
        problem = CHECKS[c.rule](c, value, site)
        if problem is not None:
            out.append(
                LintFinding(c.id, where, problem, c.effect, c.quote, c.section, source.title,
                            source.url)
            )
    return out


def lint(
    document: Any,
    profile: str,
    site: Mapping[str, Any] | None = None,
    table: ConstraintTable | None = None,
) -> list[LintFinding]:
    """Every element of ``document`` (a hook response or a discovery response) that the client
    of ``profile`` would reject or ignore. ``site`` is that profile's site configuration."""
    table = table or constraint_table()
    found: list[LintFinding] = []
    for constraint in table.for_profile(profile):
        found += check(document, constraint, table, site or {})
    return found


def lint_profiles(table: ConstraintTable | None = None) -> Sequence[str]:
    """The profiles the table has constraints for, in table order."""
    table = table or constraint_table()
    return tuple(dict.fromkeys(c.profile for c in table.constraints))
