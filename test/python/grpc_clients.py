"""
tritonclient.grpc against Bettong's OIP gRPC endpoint, unchanged and with its default
settings (raw tensor contents both ways). Expected values come from
testdata/models/*.expected.json (Python onnxruntime).

Not collected with the other suites: tritonclient.grpc and kserve register the same protobuf
symbols and cannot share a process (kserve/kserve#3099), so test_grpc_clients.py runs this file
in a pytest process of its own.
"""
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

from oip_support import ALL_TYPES, MODEL_CASES, NP_DTYPES, assert_matches, to_numpy


@pytest.fixture(scope="module")
def tg(bettong):
    client = triton.InferenceServerClient(url=bettong.grpc_host_port)
    yield client
    client.close()


def grpc_inputs(spec: dict) -> list:
    inputs = []
    for name, t in spec.items():
        inp = triton.InferInput(name, t["shape"], t["datatype"])
        inp.set_data_from_numpy(to_numpy(t))
        inputs.append(inp)
    return inputs


def test_grpc_server_live_ready_and_metadata(tg):
    assert tg.is_server_live() is True
    assert tg.is_server_ready() is True
    meta = tg.get_server_metadata(as_json=True)
    assert meta["name"] == "bettong"
    assert meta["version"]


def test_grpc_model_ready(tg):
    for name in ("digits", "breast_cancer", "breast_cancer_chain", "all_types"):
        assert tg.is_model_ready(name) is True, name
    assert tg.is_model_ready("digits", model_version="1") is True
    assert tg.is_model_ready("no_such_pipeline") is False


@pytest.mark.parametrize("pipeline, fixture", MODEL_CASES)
def test_grpc_model_metadata(tg, expected, pipeline, fixture):
    exp = expected(fixture)
    meta = tg.get_model_metadata(pipeline)  # the protobuf message
    assert meta.name == pipeline
    assert "1" in meta.versions
    assert meta.platform
    assert {i.name: i.datatype for i in meta.inputs} == {n: t["datatype"] for n, t in exp["inputs"].items()}
    assert {o.name: o.datatype for o in meta.outputs} == {n: t["datatype"] for n, t in exp["outputs"].items()}
    assert meta.inputs[0].shape[0] == -1
    assert tg.get_model_metadata(pipeline, model_version="1", as_json=True)["name"] == pipeline


@pytest.mark.parametrize("pipeline, fixture", MODEL_CASES + [("add_mul", "add_mul")])
def test_grpc_infer_defaults(tg, expected, pipeline, fixture):
    exp = expected(fixture)
    result = tg.infer(pipeline, grpc_inputs(exp["inputs"]))
    response = result.get_response()
    assert response.model_name == pipeline
    assert response.model_version == "1"
    assert sorted(o.name for o in response.outputs) == sorted(exp["outputs"])
    assert len(response.raw_output_contents) == len(response.outputs)
    for name, spec in exp["outputs"].items():
        assert_matches(result.as_numpy(name), spec)


def test_grpc_infer_requested_output_and_id(tg, expected):
    exp = expected("digits_mlp")
    result = tg.infer("digits", grpc_inputs(exp["inputs"]), request_id="req-7",
                      outputs=[triton.InferRequestedOutput("probabilities")])
    response = result.get_response(as_json=True)
    assert response["id"] == "req-7"
    assert [o["name"] for o in response["outputs"]] == ["probabilities"]
    assert result.as_numpy("label") is None
    assert_matches(result.as_numpy("probabilities"), exp["outputs"]["probabilities"])


def test_grpc_all_datatypes(tg, expected):
    exp = expected("all_types_identity")
    assert sorted(t["datatype"] for t in exp["inputs"].values()) == sorted(NP_DTYPES)
    outputs = [triton.InferRequestedOutput(f"out_{t}") for t in ALL_TYPES]
    result = tg.infer("all_types", grpc_inputs(exp["inputs"]), outputs=outputs)
    for t in ALL_TYPES:
        spec = exp["outputs"][f"out_{t}"]
        assert result.get_output(f"out_{t}").datatype == spec["datatype"]
        assert_matches(result.as_numpy(f"out_{t}"), spec, exact=True)


def test_grpc_int64_beyond_2_53_is_exact(tg, expected):
    """JSON numbers cannot carry these; raw gRPC contents must."""
    big = np.array([[2**62 + 1, -(2**63)], [2**63 - 1, -3]], dtype=np.int64)
    inputs = []
    for name, t in expected("all_types_identity")["inputs"].items():
        arr = big if name == "in_int64" else to_numpy(t)[:2]  # two rows of every other input
        inp = triton.InferInput(name, list(arr.shape), t["datatype"])
        inp.set_data_from_numpy(arr)
        inputs.append(inp)
    result = tg.infer("all_types", inputs, outputs=[triton.InferRequestedOutput("out_int64")])
    np.testing.assert_array_equal(result.as_numpy("out_int64"), big)


def test_grpc_errors_then_server_still_answers(tg, expected):
    exp = expected("digits_mlp")
    with pytest.raises(InferenceServerException) as err:
        tg.infer("no_such_pipeline", grpc_inputs(exp["inputs"]))
    assert err.value.status() == "StatusCode.NOT_FOUND"
    assert "no_such_pipeline" in err.value.message()

    with pytest.raises(InferenceServerException) as err:
        tg.infer("digits", grpc_inputs(exp["inputs"]), model_version="99")
    assert err.value.status() == "StatusCode.NOT_FOUND"
    assert "99" in err.value.message()

    bad = triton.InferInput("input", [5, 63], "FP32")
    bad.set_data_from_numpy(np.zeros((5, 63), dtype=np.float32))
    with pytest.raises(InferenceServerException) as err:
        tg.infer("digits", [bad])
    assert err.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "input" in err.value.message() and "63" in err.value.message()

    wrong_type = triton.InferInput("input", [5, 64], "FP64")
    wrong_type.set_data_from_numpy(to_numpy(exp["inputs"]["input"]).astype(np.float64))
    with pytest.raises(InferenceServerException) as err:
        tg.infer("digits", [wrong_type])
    assert err.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "FP64" in err.value.message()

    with pytest.raises(InferenceServerException) as err:
        tg.infer("digits", grpc_inputs(exp["inputs"]), outputs=[triton.InferRequestedOutput("nope")])
    assert err.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "nope" in err.value.message()

    with pytest.raises(InferenceServerException) as err:
        tg.get_model_metadata("no_such_pipeline")
    assert err.value.status() == "StatusCode.NOT_FOUND"

    assert tg.is_server_live() and tg.is_server_ready()
    result = tg.infer("digits", grpc_inputs(exp["inputs"]))
    assert_matches(result.as_numpy("label"), exp["outputs"]["label"])


# --- with --auth: tokens and workspaces ride in the gRPC metadata (tritonclient's headers=) ---

AUTH_ADMIN_TOKEN = "btg_pytest_" + "a" * 32


@pytest.fixture(scope="module")
def bettong_auth():
    """A server with --auth: digits deployed as "p" in workspace w2 (nothing called "p" in default),
    a viewer and an inference-only token there."""
    from conftest import _post_json, deploy, launch

    with launch(("--auth",), {"BETTONG_ADMIN_TOKEN": AUTH_ADMIN_TOKEN}) as server:
        admin = {"authorization": f"Bearer {AUTH_ADMIN_TOKEN}"}
        in_w2 = {**admin, "bettong-workspace": "w2"}
        _post_json(f"{server.url}/v1/workspaces", {"name": "w2"}, admin)
        deploy(server, "p", ["digits_mlp"], in_w2)
        _post_json(f"{server.url}/v1/users", {"name": "vera"}, admin)
        _post_json(f"{server.url}/v1/members", {"user": "vera", "role": "viewer"}, in_w2)
        server.tokens = {
            "viewer": _post_json(f"{server.url}/v1/tokens", {"name": "v", "user": "vera"}, admin)["secret"],
            "app": _post_json(f"{server.url}/v1/tokens", {"name": "app", "workspace": "w2", "inference_only": True}, admin)["secret"],
        }
        yield server


def auth_headers(token: str, workspace: str | None = "w2") -> dict:
    return {"authorization": f"Bearer {token}", **({"bettong-workspace": workspace} if workspace else {})}


def test_grpc_with_auth_in_workspace_w2(bettong_auth, expected):
    exp = expected("digits_mlp")
    client = triton.InferenceServerClient(url=bettong_auth.grpc_host_port)
    try:
        # Health stays open; everything else needs a token.
        assert client.is_server_live() is True
        with pytest.raises(InferenceServerException) as err:
            client.infer("p", grpc_inputs(exp["inputs"]))
        assert err.value.status() == "StatusCode.UNAUTHENTICATED"

        app = auth_headers(bettong_auth.tokens["app"])
        assert client.is_model_ready("p", headers=app) is True
        meta = client.get_model_metadata("p", headers=app)
        assert [i.name for i in meta.inputs] == ["input"]
        assert meta.platform == "onnx_onnxv1"
        result = client.infer("p", grpc_inputs(exp["inputs"]), headers=app)
        assert_matches(result.as_numpy("label"), exp["outputs"]["label"])

        # The admin's token in w2 too; without the workspace header it acts in default, where there is no "p".
        result = client.infer("p", grpc_inputs(exp["inputs"]), headers=auth_headers(AUTH_ADMIN_TOKEN))
        assert_matches(result.as_numpy("probabilities"), exp["outputs"]["probabilities"])
        with pytest.raises(InferenceServerException) as err:
            client.infer("p", grpc_inputs(exp["inputs"]), headers=auth_headers(AUTH_ADMIN_TOKEN, None))
        assert err.value.status() == "StatusCode.NOT_FOUND"
        assert "pipeline 'p' not found" in err.value.message()

        # A viewer reads metadata but may not infer; a workspace the caller is not in is not found.
        viewer = auth_headers(bettong_auth.tokens["viewer"])
        assert client.get_model_metadata("p", headers=viewer).name == "p"
        with pytest.raises(InferenceServerException) as err:
            client.infer("p", grpc_inputs(exp["inputs"]), headers=viewer)
        assert err.value.status() == "StatusCode.PERMISSION_DENIED"
        assert "viewer in workspace 'w2'" in err.value.message()
        with pytest.raises(InferenceServerException) as err:
            client.infer("p", grpc_inputs(exp["inputs"]), headers=auth_headers(bettong_auth.tokens["viewer"], "default"))
        assert err.value.status() == "StatusCode.NOT_FOUND"
        assert "workspace 'default' not found" in err.value.message()
    finally:
        client.close()
