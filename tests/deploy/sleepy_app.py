"""A tiny Flask app for the gunicorn tests: the real observability extension and a 1 s route."""

from __future__ import annotations

import time

import flask

from cds_service.buffered_asgi import build
from cds_service.observability import init_observability, observe_cards

SLOW_SECONDS = 1.0
SLOW_BODY = b"".join(b"%07d\n" % i for i in range(8192))  # 64 KiB, each line numbered


def create_app() -> flask.Flask:
    """The test app: /slow sleeps then answers SLOW_BODY; /count counts one card."""
    app = flask.Flask(__name__)
    init_observability(app, readiness_checks={"always": lambda: True})

    @app.get("/slow")
    def slow() -> flask.Response:
        time.sleep(SLOW_SECONDS)
        return flask.Response(SLOW_BODY, content_type="text/plain")

    @app.get("/count")
    def count() -> flask.Response:
        flask.g.cds_log = {"service": "sleepy", "rules": ["test-rule"]}
        observe_cards(["test-rule"])
        return flask.Response(b"counted\n", content_type="text/plain")

    return app


app = create_app()
asgi_app = build(app)  # what CDS_SERVER=granian serves: the app behind the buffering front
