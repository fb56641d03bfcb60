"""
A real `bettong serve` from this checkout for the Python test trees (test/python, the OIP clients;
python/tests, the SDK): free ports, a temporary data directory, its own PostgreSQL database in
PostgreSQL runs, ready before use, stopped with SIGTERM afterwards.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 30


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_env() -> dict:
    """In PostgreSQL runs (scripts/with-postgres sets BETTONG_TEST_DATABASE_URL): a fresh database for this server."""
    admin = os.environ.get("BETTONG_TEST_DATABASE_URL")
    if not admin:
        return {}
    name = f"bettong_py_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    return {"BETTONG_DATABASE_URL": admin.rsplit("/", 1)[0] + "/" + name}


@dataclass
class RunningServer:
    port: int
    grpc_port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_port(self) -> str:
        """What tritonclient's HTTP client takes."""
        return f"127.0.0.1:{self.port}"

    @property
    def grpc_host_port(self) -> str:
        """What tritonclient.grpc takes."""
        return f"127.0.0.1:{self.grpc_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def launch(extra_args: tuple = (), env: dict | None = None, prefix: str = "bettong-pytest-") -> Iterator[RunningServer]:
    """
    A server on free ports (HTTP and gRPC) over a fresh data directory, ready (GET /v2/health/ready);
    stopped on exit. None of the caller's BETTONG_* settings leak in: `env` gives the server's own.
    """
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    grpc_port = free_port()
    while grpc_port == port:
        grpc_port = free_port()
    log_path = data_dir / "server.log"
    log_file = open(log_path, "wb")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BETTONG_")}
    proc = subprocess.Popen(
        ["node", "bin/bettong.mjs", "serve", "--data-dir", str(data_dir / "data"), "--port", str(port),
         "--grpc-port", str(grpc_port), *extra_args],
        cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        env={**clean, **postgres_env(), **(env or {})},
    )
    server = RunningServer(port, grpc_port, proc, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"bettong exited with {proc.returncode} during startup:\n{server.log()}")
            try:
                with urllib.request.urlopen(f"{server.url}/v2/health/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"bettong not ready after {STARTUP_TIMEOUT_S}s:\n{server.log()}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log_file.close()
        shutil.rmtree(data_dir, ignore_errors=True)
