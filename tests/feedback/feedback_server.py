"""Durability-test server: `python feedback_server.py DATABASE_URL` prints its port, serves."""

from __future__ import annotations

import sys

from flask import Flask
from werkzeug.serving import make_server

from cds_service.feedback import FeedbackStore, feedback_blueprint

SERVICE_ID = "rls-order-select"
RULES = ["rls-iron-check", "rls-dopamine-augmentation", "rls-gabapentinoid-first"]


def main(database_url: str) -> None:
    store = FeedbackStore(database_url)
    store.migrate()
    app = Flask("feedback-durability")
    app.register_blueprint(feedback_blueprint(store, lambda: {SERVICE_ID}, lambda: RULES))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    try:
        server.serve_forever()
    finally:
        store.close()


if __name__ == "__main__":
    main(sys.argv[1])
