"""Output profiles: one card model in (the CDS Hooks 2.0 response the cards are built as), one
client's JSON out. ``spec`` is CDS Hooks 2.0 as built; ``epic``, ``oracle`` and ``sandbox``
adapt it to what each client documents or does (``constraints.json``, which the linter checks).

The profile of a call: the verified JWT issuer's configured ``profile``, else ``epic`` when the
request carries Epic's ``com.epic.cdshooks.request.*`` extension keys, else ``CDS_EHR_PROFILE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from cds_service.cards.profiles import epic, oracle, sandbox, spec
from cds_service.cards.profiles.context import ProfileContext, vocabulary
from cds_service.cards.profiles.lint import LintFinding, lint
from cds_service.cards.profiles.site import parse_site_codes
from cds_service.knowledge import Knowledge

PROFILES: dict[str, ModuleType] = {"spec": spec, "epic": epic, "oracle": oracle, "sandbox": sandbox}
PROFILE_NAMES = frozenset(PROFILES)
EPIC_REQUEST_EXTENSION = "com.epic.cdshooks.request."


def check_profile(name: str, where: str) -> str:
    """``name`` if it is a known profile; else ``ValueError`` naming ``where`` it was set."""
    if name not in PROFILES:
        raise ValueError(f"{where}: unknown output profile {name!r}; known: {sorted(PROFILES)}")
    return name


def is_epic_request(body: object) -> bool:
    """Epic sends its ``com.epic.cdshooks.request.*`` keys in the request's ``extension``."""
    # A parsed body is a dict: its own check first, before the slower abstract Mapping one.
    mapping = isinstance(body, dict) or isinstance(body, Mapping)
    extension = body.get("extension") if mapping else None  # type: ignore[attr-defined]
    if extension is None:
        return False
    return isinstance(extension, Mapping) and any(
        isinstance(k, str) and k.startswith(EPIC_REQUEST_EXTENSION) for k in extension
    )


def choose_profile(issuer_profile: str | None, body: object, default: str) -> str:
    """The profile of one call (see the module docstring)."""
    if issuer_profile:
        return issuer_profile
    if is_epic_request(body):
        return "epic"
    return default


class Profiles:
    """The profiles, with the lookups and site codes they need, built once at start-up."""

    def __init__(self, context: ProfileContext) -> None:
        self.context = context

    @classmethod
    def build(
        cls,
        knowledge: Knowledge,
        site_codes: str = "",
        new_uuid: Callable[[], str] | None = None,
    ) -> Profiles:
        """``site_codes`` is ``CDS_EHR_SITE_CODES``; ``ValueError`` when it is malformed."""
        words = vocabulary(knowledge)
        extra: dict[str, Any] = {"new_uuid": new_uuid} if new_uuid else {}
        context = ProfileContext(**words, **extra)
        site = parse_site_codes(site_codes, PROFILE_NAMES, context.orderable_keys)
        return cls(ProfileContext(**words, site=site, **extra))

    def render(self, response: dict[str, Any], profile: str, hook: str = "") -> dict[str, Any]:
        """The hook response for the client of ``profile``, answering ``hook``."""
        return PROFILES[profile].render(response, self.context, hook=hook)

    def discovery(self, document: dict[str, Any], profile: str) -> dict[str, Any]:
        """The discovery response for the client of ``profile``."""
        return PROFILES[profile].discovery(document, self.context)

    def lint(self, document: Any, profile: str) -> list[LintFinding]:
        """What the client of ``profile`` would reject or ignore in ``document``."""
        return lint(document, profile, self.context.site_for(profile).as_lint_settings())


__all__ = [
    "PROFILES",
    "PROFILE_NAMES",
    "LintFinding",
    "Profiles",
    "check_profile",
    "choose_profile",
    "is_epic_request",
    "lint",
]
