"""A configuration the app cannot start with stops ``rls-cds serve`` at once with one clear line
on stderr and a non-zero exit, on both servers, instead of worker-boot tracebacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .support import free_port, python_path_env, venv_executable

NO_ISSUER = (
    "rls-cds: cannot start: client authentication is on but no trusted issuer is configured: "
    "set CDS_TRUSTED_ISSUERS (or CDS_TRUSTED_ISSUERS_FILE), or CDS_REQUIRE_AUTH=false\n"
)


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"CDS_REQUIRE_AUTH": "true"}, NO_ISSUER),
        (
            {"CDS_REQUIRE_AUTH": "false", "CDS_JWT_LEEWAY": "soon"},
            "rls-cds: cannot start: CDS_JWT_LEEWAY must be a number, not 'soon'\n",
        ),
    ],
    ids=["no-trusted-issuer", "bad-number"],
)
def test_one_line_and_a_non_zero_exit(
    server: str, settings: dict[str, str], expected: str, tmp_path: Path
) -> None:
    exe = venv_executable("rls-cds")
    if exe is None:
        pytest.skip("rls-cds is not installed in this environment")
    env = python_path_env({"CDS_SERVER": server, "CDS_DATA_DIR": str(tmp_path / "var"), **settings})
    for name in ("CDS_TRUSTED_ISSUERS", "CDS_TRUSTED_ISSUERS_FILE", "CDS_TRUST_SANDBOX"):
        env.pop(name, None)
    done = subprocess.run(
        [str(exe), "serve", "--port", str(free_port())],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr == expected
    assert done.stdout == ""
