"""
Fixtures for the Python SDK tests: one real `bettong serve` for the session (free port,
temporary data dir, stopped afterwards), a client on it, and a scikit-learn model trained on
a bundled dataset and exported with skl2onnx.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

import bettong
from sdk_support import REPO_ROOT, free_port

STARTUP_TIMEOUT_S = 30


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log_path: Path

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


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """A real Bettong server, started from this checkout (`node bin/bettong.mjs serve`)."""
    tmp = Path(tempfile.mkdtemp(prefix="bettong-sdk-pytest-"))
    port = free_port()
    log_path = tmp / "server.log"
    log_file = open(log_path, "wb")
    # Nothing from the caller's BETTONG_* settings leaks in; every port the server opens is a
    # free one (BETTONG_GRPC_PORT: servers with OIP over gRPC default it to 8081, and the OIP
    # client tests run a server of their own in the same session).
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETTONG_")}
    env["BETTONG_GRPC_PORT"] = str(free_port())
    env.update(postgres_env())
    # Python steps run with the interpreter scripts/test makes (pandas, numpy, pyarrow).
    step_python = REPO_ROOT / ".venv-steps" / "bin" / "python"
    if step_python.exists():
        env["BETTONG_PYTHON"] = str(step_python)
    proc = subprocess.Popen(
        ["node", "bin/bettong.mjs", "serve", "--data-dir", str(tmp / "data"), "--port", str(port),
         # the notebook's performance monitor posts its alert to a receiver on this machine
         "--allow-private-webhooks"],
        cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    srv = Server(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"bettong exited with {proc.returncode} during startup:\n{srv.log()}")
            try:
                with urllib.request.urlopen(f"{srv.url}/v2/health/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"bettong not ready after {STARTUP_TIMEOUT_S}s:\n{srv.log()}")
            time.sleep(0.2)
        yield srv
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log_file.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[bettong.Client]:
    """A client on the session's server."""
    with bettong.Client(server.url) as c:
        yield c


@pytest.fixture
def unique() -> str:
    """A suffix that keeps names of models and pipelines apart between tests."""
    return uuid.uuid4().hex[:8]


@dataclass
class Trained:
    """A scikit-learn classifier, its features, and its ONNX export."""

    clf: object
    X: pd.DataFrame
    onnx_bytes: bytes

    def expected_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.clf.predict_proba(X.astype(np.float32))

    def expected_label(self, X: pd.DataFrame) -> np.ndarray:
        return self.clf.predict(X.astype(np.float32))


@pytest.fixture(scope="session")
def trained() -> Trained:
    """StandardScaler + LogisticRegression on scikit-learn's bundled breast cancer data,
    exported with skl2onnx without the ZipMap (probabilities as a plain tensor)."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    X = data.data.astype(np.float32)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0)).fit(X, data.target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = to_onnx(clf, X.to_numpy()[:1], options={id(clf): {"zipmap": False}})
    return Trained(clf, X, onx.SerializeToString())


@pytest.fixture(scope="session")
def breast_cancer_pipeline(client: bettong.Client, trained: Trained) -> bettong.Pipeline:
    """A deployed pipeline running the trained model, shared by read-only tests."""
    model = client.upload_model("sdk-breast-cancer", trained.onnx_bytes)
    return client.build_pipeline("sdk-breast-cancer").add_model_step(model).deploy()
