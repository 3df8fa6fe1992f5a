"""The one-time JWT id store in the service database (SQLite and PostgreSQL): atomic
insert-if-absent, expiry, purge, and what the app answers when it is unreachable."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service import create_app
from cds_service.auth import SqlReplayCache
from cds_service.database import Database
from cds_service.feedback import FeedbackStore

T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def databases(database_url: str) -> Iterator[Callable[..., Database]]:
    """Connection pools on the test database (each one a process's), closed afterwards."""
    made: list[Database] = []

    def make(**options: str) -> Database:
        made.append(Database(database_url, **options))
        return made[-1]

    yield make
    for database in made:
        database.close()


def _rows(cache: SqlReplayCache) -> int:
    with cache._database.transaction() as tx:
        return tx.execute("SELECT count(*) FROM used_jti").fetchone()[0]


def test_insert_if_absent_with_expiry_and_purge(store: FeedbackStore, databases) -> None:
    clock = Clock()
    cache = SqlReplayCache(databases(synchronous="NORMAL"), clock=clock, purge_every=60)
    assert cache.check_and_store("a", T0 + 10)
    assert not cache.check_and_store("a", T0 + 10)
    assert cache.check_and_store("b", T0 + 100)
    clock.now = T0 + 10  # "a" expired: its id may be taken again (its token is refused anyway)
    assert cache.check_and_store("a", T0 + 20)
    assert not cache.check_and_store("a", T0 + 20)
    assert _rows(cache) == 2
    clock.now = T0 + 101  # the next write purges every expired row
    assert cache.check_and_store("c", T0 + 200)
    assert _rows(cache) == 1
    # A second process's cache on the same database sees the same ids.
    other = SqlReplayCache(databases(), clock=clock)
    assert not other.check_and_store("c", T0 + 200)


def test_concurrent_writers_accept_once(store: FeedbackStore, databases) -> None:
    caches = [SqlReplayCache(databases()) for _ in range(4)]
    results: list[bool] = []
    lock = threading.Lock()

    def attempt(cache: SqlReplayCache) -> None:
        ok = cache.check_and_store("same", time.time() + 60)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=attempt, args=(caches[i % 4],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]


def test_unreachable_replay_store_is_503_json_not_401(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k"}
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps({"keys": [jwk]}))
    iss = "https://ehr.example.org"
    app = create_app({"trusted_issuers": json.dumps({iss: {"jwks_file": str(keys)}}),
                      "data_dir": tmp_path})
    client = app.test_client()

    def call() -> tuple[int, dict, dict]:
        now = int(time.time())
        claims = {"iss": iss, "aud": "http://localhost/cds-services", "iat": now,
                  "exp": now + 60, "jti": str(uuid.uuid4())}
        token = jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k"})
        response = client.get("/cds-services", headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.get_json(), dict(response.headers)

    assert call()[0] == 200
    with app.extensions["rls_cds"].store._db.transaction(write=True) as tx:  # white-box: break it
        tx.execute("DROP TABLE used_jti")
    status, body, headers = call()
    assert status == 503
    assert body == {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": "transient",
        "diagnostics": "Authentication is temporarily unavailable; retry"}]}
    assert headers["Retry-After"] == "1" and "WWW-Authenticate" not in headers
