"""
The OpenAPI document tells the truth: it is a valid OpenAPI 3.x document (openapi-spec-validator), and
Schemathesis, driving a real server with requests generated from it, finds no server error, no
undocumented status, no answer that breaks its schema (its default checks, bounded examples).
The server runs with --auth so the checks on the bearer scheme (ignored_auth) mean something.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from openapi_spec_validator import validate

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = REPO_ROOT / "testdata" / "models" / "breast_cancer_logreg.onnx"
TOKEN = "openapi-test-admin-token-0123456789"
# Bounds: examples per operation, and the whole run (it takes about a minute on two cores).
MAX_EXAMPLES = int(os.environ.get("BETTONG_ST_EXAMPLES", "10"))
ST_TIMEOUT_S = 600
# A fixed seed keeps the suite reproducible; set BETTONG_ST_SEED to explore other inputs.
SEED = os.environ.get("BETTONG_ST_SEED", "20261130")


def _free_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    data_dir = Path(tempfile.mkdtemp(prefix="bettong-openapi-"))
    port = _free_port()
    log_path = data_dir / "server.log"
    log = open(log_path, "wb")
    env = {**os.environ, "BETTONG_ADMIN_TOKEN": TOKEN}
    proc = subprocess.Popen(
        ["node", "bin/bettong.mjs", "serve", "--auth", "--data-dir", str(data_dir / "data"), "--port", str(port)],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"bettong exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if _call("GET", f"{url}/v2/health/live")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"bettong not live after 30 s:\n{log_path.read_text()}")
            time.sleep(0.2)
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
        yield url, log_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


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
