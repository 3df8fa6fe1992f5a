"""CDS Hooks 2.0 service for restless legs syndrome treatment (AASM 2024 guideline).

``create_app`` is imported on first use, not with the package: the gunicorn configuration
(``cds_service.gunicorn_conf``) is imported in the master before it sets
``PROMETHEUS_MULTIPROC_DIR``, and prometheus_client decides at import time whether samples go to
that directory. Importing the app here made every worker's metrics private and /metrics empty.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from cds_service.app import create_app

        return create_app
    raise AttributeError(f"module 'cds_service' has no attribute {name!r}")
