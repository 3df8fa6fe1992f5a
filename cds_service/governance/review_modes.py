"""What /review shows of the site file: every rule's mode per site and the file's change log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds_service.governance.changes import config_history
from cds_service.governance.runtime import Governance
from cds_service.governance.site_config import DEFAULT_SITE


@dataclass(frozen=True)
class SiteModes:
    sites: list[str]  # "default" first, then the configured sites
    rows: list[tuple[str, list[str]]]  # (rule id, mode per site, in ``sites`` order)
    config_sha256: str
    history: list[dict[str, Any]]


def site_modes_view(governance: Governance | None) -> SiteModes | None:
    """The modes in force per site (None when governance is not set up)."""
    if governance is None:
        return None
    sites = [DEFAULT_SITE] + sorted(s for s in governance.config.sites if s != DEFAULT_SITE)
    modes = {site: governance.modes(site) for site in sites}
    rows = [(rule, [modes[s][rule] for s in sites]) for rule in governance.rules]
    history = config_history(governance.database, 5) if governance.database is not None else []
    return SiteModes(sites, rows, governance.config.sha256, history)
