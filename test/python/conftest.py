"""
Starts one real Bettong server for the whole session and deploys the fixture
pipelines over its REST API, so the OIP client tests talk to the real thing.
`launch` starts others (e.g. with --auth) for the tests that need them.
"""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "testdata" / "models"
STARTUP_TIMEOUT_S = 30

# pipeline name -> the fixture models it chains, in order
PIPELINES = {
    "digits": ["digits_mlp"],
    "breast_cancer": ["breast_cancer_logreg"],
    "breast_cancer_chain": ["breast_cancer_scaler", "breast_cancer_logreg_scaled"],
    "all_types": ["all_types_identity"],
    "add_mul": ["add_mul"],
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(method: str, url: str, body: bytes | None = None, content_type: str | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _post_json(url: str, payload: dict, headers: dict | None = None) -> dict:
    status, body = _request("POST", url, json.dumps(payload).encode(), "application/json", headers)
    assert 200 <= status < 300, f"POST {url} -> {status}: {body!r}"
    return json.loads(body)


class BettongServer:
    def __init__(self, port: int, grpc_port: int, proc: subprocess.Popen, log_path: Path):
        self.port = port
        self.grpc_port = grpc_port
        self.grpc_host_port = f"127.0.0.1:{grpc_port}"  # what tritonclient.grpc wants
        self.proc = proc
        self.log_path = log_path
        self.host_port = f"127.0.0.1:{port}"  # what tritonclient wants
        self.url = f"http://127.0.0.1:{port}"  # what kserve wants

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def postgres_env() -> dict:
    """In PostgreSQL runs (scripts/with-postgres sets BETTONG_TEST_DATABASE_URL): a fresh database for this server."""
    admin = os.environ.get("BETTONG_TEST_DATABASE_URL")
    if not admin:
        return {}
    name = f"bettong_py_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    return {"BETTONG_DATABASE_URL": admin.rsplit("/", 1)[0] + "/" + name}


@contextlib.contextmanager
def launch(extra_args: tuple = (), env: dict | None = None):
    """A `bettong serve` on free ports over a fresh data directory, ready; stopped (SIGTERM) on exit."""
    data_dir = Path(tempfile.mkdtemp(prefix="bettong-pytest-"))
    port = _free_port()
    grpc_port = _free_port()
    while grpc_port == port:
        grpc_port = _free_port()
    log_path = data_dir / "server.log"
    log_file = open(log_path, "wb")
    proc = subprocess.Popen(
        ["node", "bin/bettong.mjs", "serve", "--data-dir", str(data_dir / "data"), "--port", str(port),
         "--grpc-port", str(grpc_port), *extra_args],
        cwd=REPO_ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **postgres_env(), **(env or {})},
    )
    server = BettongServer(port, grpc_port, proc, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"bettong exited with {proc.returncode} during startup:\n{server.log()}")
            try:
                status, _ = _request("GET", f"{server.url}/v2/health/ready")
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
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


def deploy(server: BettongServer, pipeline: str, models: list, headers: dict | None = None, uploaded: set | None = None):
    """Uploads the fixture models (those not in `uploaded`) and deploys a pipeline of them, in order."""
    for model in models:
        if uploaded is None or model not in uploaded:
            status, body = _request(
                "POST", f"{server.url}/v1/models/{model}",
                (MODELS_DIR / f"{model}.onnx").read_bytes(), "application/octet-stream", headers,
            )
            assert 200 <= status < 300, f"upload {model} -> {status}: {body!r}"
            if uploaded is not None:
                uploaded.add(model)
    _post_json(f"{server.url}/v1/pipelines", {"name": pipeline, "steps": [{"model": m} for m in models]}, headers)
    deployed = _post_json(f"{server.url}/v1/pipelines/{pipeline}/deploy", {}, headers)
    assert deployed["status"] == "running", f"deploy {pipeline}: {deployed}"


@pytest.fixture(scope="session")
def bettong():
    with launch() as server:
        uploaded = set()
        for pipeline, models in PIPELINES.items():
            deploy(server, pipeline, models, uploaded=uploaded)
        yield server


def load_expected(name: str) -> dict:
    """A `<name>.expected.json` fixture (inputs/outputs keyed by tensor name)."""
    return json.loads((MODELS_DIR / f"{name}.expected.json").read_text())


@pytest.fixture(scope="session")
def expected():
    return load_expected
