"""
Starts one real Bettong server for the whole session and deploys the fixture
pipelines over its REST API, so the OIP client tests talk to the real thing.
`launch` (bettong_server.py) starts others (e.g. with --auth) for the tests that need them.
"""
import json
import urllib.error
import urllib.request

import pytest

from bettong_server import REPO_ROOT, RunningServer, launch

MODELS_DIR = REPO_ROOT / "testdata" / "models"

# pipeline name -> the fixture models it chains, in order
PIPELINES = {
    "digits": ["digits_mlp"],
    "breast_cancer": ["breast_cancer_logreg"],
    "breast_cancer_chain": ["breast_cancer_scaler", "breast_cancer_logreg_scaled"],
    "all_types": ["all_types_identity"],
    "add_mul": ["add_mul"],
}


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


def deploy(server: RunningServer, pipeline: str, models: list, headers: dict | None = None, uploaded: set | None = None):
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
