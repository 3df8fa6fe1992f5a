"""Session fixtures: two sekmet-fhir servers, open and bearer-protected, with RLS fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .rls_fixtures import transaction_bundle
from .sekmet_harness import (
    SEKMET_TOKEN,
    SekmetServer,
    running_in_ci,
    sekmet_executable,
    sekmet_venv,
)


@pytest.fixture(scope="session")
def sekmet_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SekmetServer]]:
    """Both servers, started in parallel; absent sekmet skips locally and fails under CI."""
    exe = sekmet_executable()
    if exe is None:
        reason = (
            f"sekmet-fhir is not installed in {sekmet_venv()}: "
            "run scripts/sekmet_venv.sh (or set SEKMET_VENV)"
        )
        if running_in_ci():
            pytest.fail(reason + " -- required when CI is set", pytrace=False)
        pytest.skip(reason)
    root = Path(tmp_path_factory.mktemp("sekmet"))
    servers = {
        "open": SekmetServer(exe, root / "open"),
        "secured": SekmetServer(exe, root / "secured", token=SEKMET_TOKEN),
    }
    try:
        for server in servers.values():
            server.launch()
        for server in servers.values():
            try:
                server.wait_ready()
            except RuntimeError:
                server.stop()
                server.start()  # e.g. its port was taken meanwhile: try again
            server.load(transaction_bundle())
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def sekmet_open(sekmet_servers: dict[str, SekmetServer]) -> SekmetServer:
    return sekmet_servers["open"]


@pytest.fixture(scope="session")
def sekmet_secured(sekmet_servers: dict[str, SekmetServer]) -> SekmetServer:
    return sekmet_servers["secured"]
