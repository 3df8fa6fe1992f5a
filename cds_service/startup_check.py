"""What would stop every worker from booting, found before the server starts, as one line.

A worker that cannot build the app dies with a traceback, and the server then restarts it or
gives up (granian: "crash loop", gunicorn: "Worker failed to boot") with exit code 0 or 3. The
same checks run here first, in ``rls-cds serve``, without touching a database or the network.
"""

from __future__ import annotations

from collections.abc import Mapping

from cds_service.auth.setup import build_authenticator
from cds_service.config import load_settings
from cds_service.errors import ConfigurationError
from cds_service.registry import load_services


def configuration_problem(environ: Mapping[str, str]) -> str | None:
    """The configuration error the app would refuse to start with, or None."""
    try:
        settings = load_settings(environ)
        load_services(settings.hooks_dir)
        if settings.require_auth:
            build_authenticator(  # validated only: no replay store, no key fetch
                issuers_json=settings.trusted_issuers,
                issuers_file=settings.trusted_issuers_file,
                trust_sandbox=settings.trust_sandbox,
                algorithms=settings.jwt_algorithms,
                leeway=settings.jwt_leeway_s,
                redis_url=None,
                jwks_timeout=settings.jwks_timeout_s,
                max_lifetime=settings.jwt_max_lifetime_s,
            )
    except (ConfigurationError, ValueError, OSError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None
