"""The service keeps no sessions: one shared NullSession that refuses writes, no cookie."""

from __future__ import annotations

import flask
import pytest
from flask.sessions import NullSession

from cds_service.app import CdsFlask, NoSessions, create_app


def test_every_request_shares_the_null_session_and_sets_no_cookie(tmp_path):
    app = create_app({"require_auth": False, "data_dir": tmp_path})
    seen = []

    @app.get("/_session_probe")
    def probe() -> str:
        seen.append(flask.session._get_current_object())
        with pytest.raises(RuntimeError):
            flask.session["user"] = "someone"
        return "ok"

    client = app.test_client()
    for _ in range(2):
        response = client.get("/_session_probe")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
    assert seen[0] is seen[1] is NoSessions.null
    assert isinstance(seen[0], NullSession) and dict(seen[0]) == {}
    assert isinstance(CdsFlask.session_interface, NoSessions)
