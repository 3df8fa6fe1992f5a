"""The site-file change log: each new version of the file, who made it and what it changed."""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from cds_service.governance.site_config import SiteConfig
from cds_service.governance.tables import site_config_changes

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


def record_config_version(engine: Engine, config: SiteConfig) -> bool:
    """Log ``config`` when it differs from the newest logged version; True when logged."""
    if not config.sha256:
        return False
    table = site_config_changes.c
    writer = engine.execution_options(sqlite_immediate=True)  # read-then-write, atomically
    with writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        last = conn.execute(
            select(table.sha256, table.modes).order_by(table.id.desc()).limit(1)
        ).first()
        if last is not None and last.sha256 == config.sha256:
            return False
        modes = configured_modes(config)
        conn.execute(site_config_changes.insert().values(
            recorded_at=datetime.now(UTC).replace(tzinfo=None),
            sha256=config.sha256,
            previous_sha256=last.sha256 if last else None,
            changed_by=_who(config),
            change_note=config.change_note,
            changes=json.dumps(diff_modes(json.loads(last.modes) if last else {}, modes)),
            modes=json.dumps(modes),
            content=config.content,
        ))
    return True


def config_history(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The newest logged versions first."""
    table = site_config_changes.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.recorded_at, table.sha256, table.previous_sha256, table.changed_by,
                   table.change_note, table.changes)
            .order_by(table.id.desc()).limit(limit)
        ).all()
    return [
        {
            "recorded_at": row.recorded_at.replace(tzinfo=UTC).isoformat(),
            "sha256": row.sha256,
            "previous_sha256": row.previous_sha256,
            "changed_by": row.changed_by,
            "change_note": row.change_note,
            "changes": json.loads(row.changes),
        }
        for row in rows
    ]
