"""
The OpenAPI document tells the truth: it is a valid OpenAPI 3.x document (openapi-spec-validator), and
Schemathesis, driving a real server with requests generated from it, finds no server error, no
undocumented status, no answer that breaks its schema (its default checks, bounded examples).
The server runs with --auth so the checks on the bearer scheme (ignored_auth) mean something.
"""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from bettong_server import REPO_ROOT, launch

MODEL = REPO_ROOT / "testdata" / "models" / "breast_cancer_logreg.onnx"
TOKEN = "openapi-test-admin-token-0123456789"
# Bounds: examples per operation, and the whole run (it takes about a minute on two cores).
MAX_EXAMPLES = int(os.environ.get("BETTONG_ST_EXAMPLES", "10"))
ST_TIMEOUT_S = 600
# A fixed seed keeps the suite reproducible; set BETTONG_ST_SEED to explore other inputs.
SEED = os.environ.get("BETTONG_ST_SEED", "20261130")


def _call(method: str, url: str, body: bytes | None = None, content_type: str | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Bearer {TOKEN}"})
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture(scope="module")
def server():
    """A server of its own with --auth (Schemathesis changes things: it must not share the session's)."""
    with launch(("--auth",), {"BETTONG_ADMIN_TOKEN": TOKEN}, prefix="bettong-openapi-") as srv:
        url = srv.url
        # Real data behind the paths: a model, a pipeline of it, deployed, an assay and a performance monitor on it.
        status, body = _call("POST", f"{url}/v1/models/bc", MODEL.read_bytes(), "application/octet-stream")
        assert status == 201, body
        status, body = _call("POST", f"{url}/v1/pipelines", json.dumps({"name": "bc", "steps": [{"model": "bc"}]}).encode(), "application/json")
        assert status == 201, body
        status, body = _call("POST", f"{url}/v1/pipelines/bc/deploy", b"{}", "application/json")
        assert status == 200 and json.loads(body)["status"] == "running", body
        assay = {"name": "bc", "pipeline": "bc", "target": {"column": "out.probabilities", "index": 1},
                 "baseline": {"values": [i / 20 for i in range(20)]}, "window": {"width": "1h"}}
        status, body = _call("POST", f"{url}/v1/assays", json.dumps(assay).encode(), "application/json")
        assert status == 201, body
        monitor = {"name": "bc", "pipeline": "bc", "task": "classification", "label": "y",
                   "prediction": {"column": "out.label"}, "window": {"width": "1h"}}
        status, body = _call("POST", f"{url}/v1/monitors", json.dumps(monitor).encode(), "application/json")
        assert status == 201, body
        yield url, srv.log_path


def test_openapi_document_is_valid(server):
    url, _ = server
    status, body = _call("GET", f"{url}/openapi.json")
    assert status == 200
    doc = json.loads(body)
    validate(doc)  # raises on the first error
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert any(s.startswith("2") for s in op["responses"]), f"{where}: no success answer"
            assert "500" in op["responses"], f"{where}: no error answers"
            for s, r in op["responses"].items():
                # readiness answers 503 with the OIP's own body ({"ready": false}), not an error
                if s >= "400" and not (s == "503" and path.endswith(("/ready", "/live"))):
                    assert r["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, f"{where} {s}"
            public = path.startswith("/v2/health")
            assert op["security"] == ([] if public else [{"bearer": []}]), where
    # creates answer 201; binary and multi-format bodies are documented
    assert "201" in doc["paths"]["/v1/models/{name}"]["post"]["responses"]
    assert "application/octet-stream" in doc["paths"]["/v1/models/{name}"]["post"]["requestBody"]["content"]
    infer = doc["paths"]["/v2/models/{name}/infer"]["post"]["requestBody"]["content"]
    assert set(infer) == {"application/json", "application/octet-stream"}
    records = doc["paths"]["/v1/pipelines/{name}/infer"]["post"]["requestBody"]["content"]
    assert set(records) == {"application/json", "application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file"}


def test_schemathesis_finds_nothing(server, tmp_path):
    url, log_path = server
    st = Path(sys.executable).with_name("st")
    cmd = [
        str(st), "--config-file", str(Path(__file__).with_name("schemathesis.toml")), "run", f"{url}/openapi.json",
        "--header", f"Authorization: Bearer {TOKEN}",
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1",
        "--seed", SEED,
        # The stateful phase chains operations by links, which this document does not declare.
        "--phases", "examples,coverage,fuzzing",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=ST_TIMEOUT_S, cwd=tmp_path)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"schemathesis ran past {ST_TIMEOUT_S} s:\n{(e.stdout or b'')[-5000:]!r}")
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"schemathesis found problems:\n{out[-20000:]}\n\nserver log tail:\n{log_path.read_text()[-3000:]}"
    print(out[out.find("SUMMARY") - 40:])  # with -s: what was tested
