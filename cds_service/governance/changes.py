"""The site-file change log: each new version of the file, who made it and what it changed."""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cds_service.database import Database, insert_statement
from cds_service.governance.site_config import SiteConfig

_LOCK_ID = 0x5173C0F  # pg advisory lock: one worker records a new version


def configured_modes(config: SiteConfig) -> dict[str, dict[str, str]]:
    """The modes the file sets explicitly, per site (what the log compares)."""
    return {name: dict(sorted(site.rules.items())) for name, site in sorted(config.sites.items())}


def diff_modes(
    old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """One entry per (site, rule) whose configured mode changed (None: not set)."""
    changes = []
    for site in sorted(set(old) | set(new)):
        before, after = old.get(site, {}), new.get(site, {})
        for rule in sorted(set(before) | set(after)):
            if before.get(rule) != after.get(rule):
                changes.append(
                    {"site": site, "rule": rule, "from": before.get(rule), "to": after.get(rule)}
                )
    return changes


def _who(config: SiteConfig) -> str:
    if config.changed_by:
        return config.changed_by
    try:
        return f"{getpass.getuser()} (process user; set changed_by in the file)"
    except (KeyError, OSError):
        return "unknown (set changed_by in the file)"


_INSERT = insert_statement(
    "site_config_changes",
    "recorded_at sha256 previous_sha256 changed_by change_note changes modes content")


def record_config_version(database: Database, config: SiteConfig) -> bool:
    """Log ``config`` when it differs from the newest logged version; True when logged."""
    if not config.sha256:
        return False
    with database.transaction(write=True) as tx:  # read-then-write, atomically
        if database.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(:id)", {"id": _LOCK_ID})
        last = tx.execute(
            "SELECT sha256, modes FROM site_config_changes ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if last is not None and last[0] == config.sha256:
            return False
        modes = configured_modes(config)
        tx.execute(_INSERT, {
            "recorded_at": database.timestamp(datetime.now(UTC).replace(tzinfo=None)),
            "sha256": config.sha256,
            "previous_sha256": last[0] if last else None,
            "changed_by": _who(config),
            "change_note": config.change_note,
            "changes": json.dumps(diff_modes(json.loads(last[1]) if last else {}, modes)),
            "modes": json.dumps(modes),
            "content": config.content,
        })
    return True


def config_history(database: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The newest logged versions first."""
    with database.transaction() as tx:
        rows = tx.execute(
            "SELECT recorded_at, sha256, previous_sha256, changed_by, change_note, changes "
            "FROM site_config_changes ORDER BY id DESC LIMIT :limit", {"limit": limit}
        ).fetchall()
    return [
        {
            "recorded_at": database.read_timestamp(recorded_at).replace(tzinfo=UTC).isoformat(),
            "sha256": sha256,
            "previous_sha256": previous,
            "changed_by": changed_by,
            "change_note": note,
            "changes": json.loads(changes),
        }
        for recorded_at, sha256, previous, changed_by, note, changes in rows
    ]
