"""Start and stop sekmet-fhir FHIR R4 servers on 127.0.0.1 for the integration tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

REPO_ROOT = Path(__file__).resolve().parents[2]
SEKMET_VERSION = "0.1.1"
SEKMET_TOKEN = "sekmet-test-token-7f3a"  # the protected server's static bearer token


def sekmet_venv() -> Path:
    """Where scripts/sekmet_venv.sh installs sekmet-fhir (override with SEKMET_VENV)."""
    return Path(os.environ.get("SEKMET_VENV") or REPO_ROOT / ".sekmet-venv")


def sekmet_executable() -> Path | None:
    exe = sekmet_venv() / "bin" / "sekmet"
    return exe if exe.is_file() and os.access(exe, os.X_OK) else None


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SekmetServer:
    """One ``sekmet serve`` process with its own data directory; bearer-only when given a token."""

    def __init__(self, executable: Path, workdir: Path, token: str | None = None) -> None:
        self.executable = executable
        self.workdir = workdir
        self.token = token
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def _write_settings(self) -> Path:
        auth = {"types": ["bearer"], "tokens": [self.token]} if self.token else {"types": ["none"]}
        settings = {
            "base_url": self.base_url,
            "host": "127.0.0.1",
            "port": self.port,
            "data_dir": str(self.workdir / "data"),
            "own_private_key_path": str(self.workdir / "keys" / "sekmet_private.pem"),
            "simulator": {"enabled": False},
            "server_auth": auth,
            "log_inbound": False,
        }
        path = self.workdir / "settings.yaml"
        path.write_text(json.dumps(settings, indent=2))  # JSON is YAML
        return path

    def launch(self) -> None:
        """Start the process without waiting (see wait_ready)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        settings = self._write_settings()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEKMET_")}
        with open(self.workdir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(self.executable), "serve", "-c", str(settings)],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 45.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"sekmet exited early:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base_url}/metadata", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"sekmet not ready after {timeout} s:\n{self.log_tail()}")

    def start(self, attempts: int = 3) -> None:
        """Launch and wait; retry on another port if the chosen one was taken meanwhile."""
        for attempt in range(attempts):
            self.launch()
            try:
                self.wait_ready()
                return
            except RuntimeError:
                self.stop()
                if attempt == attempts - 1:
                    raise

    def log_tail(self, chars: int = 3000) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def load(self, bundle: dict) -> dict:
        """POST a transaction Bundle; return the transaction-response."""
        headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        resp = requests.post(self.base_url, json=bundle, headers=headers, timeout=30)
        if resp.status_code != 200:
            raise RuntimeError(f"transaction failed: {resp.status_code} {resp.text[:2000]}")
        return resp.json()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


class CountingAdapter(HTTPAdapter):
    """An HTTPAdapter that records the URL of every request it sends."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: object, **kwargs: object):  # type: ignore[override]
        self.sent.append(str(request.url))
        return super().send(request, *args, **kwargs)  # type: ignore[arg-type]


def count_requests(session: requests.Session) -> CountingAdapter:
    """Mount a CountingAdapter (no retries, like make_session's) for http and https."""
    adapter = CountingAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
