"""The WSGI application object for any server: ``cds_service.wsgi:app``."""

import logging
import os

from cds_service.app import create_app, tune_gc

# Service logs (never tokens or patient data) go to stderr; the JSON access log to stdout.
logging.basicConfig(
    level=os.environ.get("CDS_LOG_LEVEL", "INFO").upper(),
    format="%(asctime)s %(levelname)s %(name)s %(message)s",
)
app = create_app()

tune_gc()
