"""Rule modes applied between evaluation and rendering: active -> card, silent -> record only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cds_service.engine.findings import Finding


def apply_modes(
    findings: Sequence[Finding], modes: Mapping[str, str] | None
) -> tuple[list[Finding], list[Finding]]:
    """(findings that become cards, findings recorded silently); ``off`` findings are dropped."""
    if not modes:
        return list(findings), []
    active = [f for f in findings if modes.get(f.rule_id, "active") == "active"]
    silent = [f for f in findings if modes.get(f.rule_id) == "silent"]
    return active, silent
