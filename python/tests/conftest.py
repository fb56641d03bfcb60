"""
Fixtures for the Python SDK tests: one real `bettong serve` for the session (free ports,
temporary data dir, stopped afterwards: test/python/bettong_server.py), a client on it, and a
scikit-learn model trained on a bundled dataset and exported with skl2onnx.
"""
from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

import bettong
from sdk_support import REPO_ROOT
from bettong_server import RunningServer, launch


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """A real Bettong server, started from this checkout (`node bin/bettong.mjs serve`)."""
    env = {}
    # Python steps run with the interpreter scripts/test makes (pandas, numpy, pyarrow).
    step_python = REPO_ROOT / ".venv-steps" / "bin" / "python"
    if step_python.exists():
        env["BETTONG_PYTHON"] = str(step_python)
    # the notebook's performance monitor posts its alert to a receiver on this machine
    with launch(("--allow-private-webhooks",), env, prefix="bettong-sdk-pytest-") as srv:
        yield srv


@pytest.fixture(scope="session")
def client(server: RunningServer) -> Iterator[bettong.Client]:
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
