"""json_response builds, field for field, the Response werkzeug's constructor builds."""

from __future__ import annotations

import orjson
import pytest
from flask import Response

from cds_service.api import json_response


def _fields(response: Response) -> dict[str, object]:
    fields = dict(vars(response))
    fields["headers"] = response.headers.to_wsgi_list()
    return fields


@pytest.mark.parametrize("status", [200, 400, 404, 412, 413, 415, 422, 500, 503, 299])
@pytest.mark.parametrize("payload", [{"cards": []}, {"a": "é", "b": [1, 2.5, None]}, []])
def test_the_same_response_as_the_constructor(payload, status):
    fast = json_response(payload, status)
    slow = Response(orjson.dumps(payload), status, content_type="application/json")
    assert _fields(fast) == _fields(slow)
    assert (fast.status, fast.status_code, fast.get_data(), fast.mimetype) == (
        slow.status, slow.status_code, slow.get_data(), slow.mimetype
    )
    assert fast.headers["Content-Length"] == str(len(orjson.dumps(payload)))


def test_a_response_can_still_take_headers_and_new_data():
    response = json_response({"cards": []})
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.add("Vary", "Origin")
    assert response.headers.to_wsgi_list()[-2:] == [
        ("Access-Control-Allow-Origin", "*"), ("Vary", "Origin")
    ]
    response.set_data(b"{}")
    assert response.headers["Content-Length"] == "2"
