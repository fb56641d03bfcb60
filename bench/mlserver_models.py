#!/usr/bin/env python3
"""Train the scikit-learn models behind the ONNX fixtures again and lay them out for MLServer.

Used by bench/serve.ts (run with bench/.venv-mlserver/bin/python):

    python bench/mlserver_models.py OUT_DIR --http-port P --grpc-port Q --metrics-port R --parallel-workers N

The estimators, their hyperparameters, random_state and training data are exactly those of
testdata/make_fixtures.py (make_digits, make_breast_cancer), so MLServer serves the same models
that Bettong serves as ONNX. As a check, each model's predictions on the fixture's sample rows
are compared with the ONNX Runtime outputs committed in testdata/models/*.expected.json; a
mismatch exits non-zero.

Writes:
    OUT_DIR/settings.json                       server settings (ports, parallel_workers)
    OUT_DIR/digits/model.joblib                 MLPClassifier(hidden_layer_sizes=(32,), ...)
    OUT_DIR/digits/model-settings.json          implementation mlserver_sklearn.SKLearnModel
    OUT_DIR/breast-cancer/model.joblib          Pipeline(StandardScaler, LogisticRegression)
    OUT_DIR/breast-cancer/model-settings.json

With --settings-only, only settings.json is rewritten (another parallel_workers or ports).
"""

import argparse
import json
import os
import warnings

import joblib
import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "models")


# The two functions below repeat testdata/make_fixtures.py's training code verbatim.
def train_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = Pipeline([
        ("scaler", StandardScaler()),
        ("clf", LogisticRegression(max_iter=1000, random_state=0)),
    ])
    pipe.fit(X, y)
    return pipe


def train_digits():
    X, y = load_digits(return_X_y=True)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    return mlp


def check_same_as_fixture(estimator, fixture):
    """The retrained model answers the fixture's sample rows as the committed ONNX model did."""
    with open(os.path.join(FIXTURES, fixture + ".expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    inp = expected["inputs"]["input"]
    X = np.asarray(inp["data"], dtype=np.float32).reshape(inp["shape"])
    labels = np.asarray(expected["outputs"]["label"]["data"])
    proba = np.asarray(expected["outputs"]["probabilities"]["data"]).reshape(expected["outputs"]["probabilities"]["shape"])
    if not np.array_equal(estimator.predict(X), labels):
        raise SystemExit(f"{fixture}: retrained labels differ from the ONNX fixture's")
    np.testing.assert_allclose(estimator.predict_proba(X), proba, rtol=1e-4, atol=1e-5,
                               err_msg=f"{fixture}: retrained probabilities differ from the ONNX fixture's")


def write_model(out_dir, name, estimator):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    joblib.dump(estimator, os.path.join(d, "model.joblib"))
    settings = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
    }
    with open(os.path.join(d, "model-settings.json"), "w", encoding="utf-8") as f:
        json.dump(settings, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--grpc-port", type=int, required=True)
    ap.add_argument("--metrics-port", type=int, required=True)
    ap.add_argument("--parallel-workers", type=int, required=True)
    ap.add_argument("--settings-only", action="store_true", help="rewrite settings.json only (the models are there)")
    a = ap.parse_args()

    os.makedirs(a.out_dir, exist_ok=True)
    models = ["digits", "breast-cancer"]
    if not a.settings_only:
        trained = {"digits": (train_digits(), "digits_mlp"), "breast-cancer": (train_breast_cancer(), "breast_cancer_logreg")}
        for name, (estimator, fixture) in trained.items():
            check_same_as_fixture(estimator, fixture)
            write_model(a.out_dir, name, estimator)
    settings = {
        "host": "127.0.0.1",
        "http_port": a.http_port,
        "grpc_port": a.grpc_port,
        "metrics_port": a.metrics_port,
        "metrics_dir": os.path.join(os.path.abspath(a.out_dir), ".metrics"),
        "parallel_workers": a.parallel_workers,
        "debug": False,  # MLServer's default: no per-request access log
    }
    with open(os.path.join(a.out_dir, "settings.json"), "w", encoding="utf-8") as f:
        json.dump(settings, f, indent=2)
    print(f"wrote {', '.join(models)} to {a.out_dir} (parallel_workers={a.parallel_workers})")


if __name__ == "__main__":
    main()
