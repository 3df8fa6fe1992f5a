"""Human-facing pages, off unless ``CDS_ENABLE_CONSOLE=true``: the console and the review."""

from cds_service.console.blueprint import CSP, DEFAULT_FIXTURES_DIR, console_blueprint

__all__ = ["CSP", "DEFAULT_FIXTURES_DIR", "console_blueprint"]
