"""The WSGI application object for any server: ``cds_service.wsgi:app``."""

import gc
import logging
import os

from cds_service import create_app

# Service logs (never tokens or patient data) go to stderr; the JSON access log to stdout.
logging.basicConfig(
    level=os.environ.get("CDS_LOG_LEVEL", "INFO").upper(),
    format="%(asctime)s %(levelname)s %(name)s %(message)s",
)
app = create_app()

# Everything built at start-up (knowledge, schemas, fhir.resources models) lives for the whole
# process: keep it out of every collection, and collect young objects less often, since a large
# request body makes tens of thousands of short-lived containers (measured: json.loads of 1,000
# Observations costs half as much).
gc.freeze()
gc.set_threshold(50_000, 20, 100)
