"""The Dockerfile: hadolint clean, multi-stage, slim, non-root, health-checked, rls-cds serve."""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

from .support import REPO, dockerfile_stages, exec_form

BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "libpq-dev", "python3-dev")


def run_hadolint(hadolint: Path, dockerfile: Path) -> subprocess.CompletedProcess[str]:
    """hadolint at the project's threshold: any warning or error fails."""
    return subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_hadolint_passes_at_warning_threshold(hadolint: Path) -> None:
    result = run_hadolint(hadolint, REPO / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_lints(hadolint: Path, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y gcc\nCMD python app.py\n")
    result = run_hadolint(hadolint, bad)
    assert result.returncode != 0
    for rule in ("DL3006", "DL3008", "DL3025"):
        assert rule in result.stdout, result.stdout


def test_multi_stage_with_a_slim_final_image_and_no_build_tools() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", final.base), final.base
    runs = " ".join(final.all("RUN"))
    assert "apt-get" not in runs and "apk" not in runs
    for tool in BUILD_TOOLS:
        assert not re.search(rf"(^|\s){re.escape(tool)}(\s|$)", runs), tool
    copies_from_build = [c for c in final.all("COPY") if c.startswith("--from=")]
    assert any("/opt/venv" in c for c in copies_from_build), "the virtualenv comes from build"


def test_runs_as_a_numeric_non_root_user() -> None:
    user = dockerfile_stages()[-1].last("USER")
    assert user is not None
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets Kubernetes check runAsNonRoot"


def test_entry_command_is_rls_cds_serve_on_8080() -> None:
    final = dockerfile_stages()[-1]
    argv = exec_form(final.last("ENTRYPOINT") or "[]") + exec_form(final.last("CMD") or "[]")
    assert argv[:2] == ["rls-cds", "serve"]
    assert argv[argv.index("--port") + 1] == "8080"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert "8080" in (final.last("EXPOSE") or "").split()


def test_healthcheck_uses_python_stdlib_on_healthz() -> None:
    healthcheck = dockerfile_stages()[-1].last("HEALTHCHECK")
    assert healthcheck is not None
    options, _, command = healthcheck.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = exec_form(command)
    assert argv[0] == "python" and "urllib.request" in argv[-1]
    assert "http://127.0.0.1:8080/healthz" in argv[-1]


def dockerignore_includes(path: str) -> bool:
    """Whether the build context keeps ``path`` under .dockerignore's last-match-wins rules."""
    included = True
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes) or any(
            fnmatch.fnmatch(part, pattern) for part in parts
        ):
            included = negate
    return included


def test_dockerignore_sends_what_copy_needs_and_nothing_private() -> None:
    sources = []
    for stage in dockerfile_stages():
        for args in stage.all("COPY"):
            if not args.startswith("--from="):
                sources += [s for s in args.split()[:-1] if not s.startswith("--")]
    assert sources, "the build stage copies the project"
    for source in sources:
        assert (REPO / source).exists(), source
        assert dockerignore_includes(source), f".dockerignore drops {source}"
    for private in (".git", ".venv", ".tools", ".env", "tests", "var", "cds_service/__pycache__"):
        assert not dockerignore_includes(private), f".dockerignore sends {private}"
