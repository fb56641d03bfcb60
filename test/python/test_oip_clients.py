"""
Off-the-shelf Open Inference Protocol (KServe v2) clients against a real Bettong
server, unchanged and with their default settings: tritonclient.http (binary tensors
both ways by default) and kserve's InferenceRESTClient (binary inputs by default).
Expected values come from testdata/models/*.expected.json (Python onnxruntime).
"""
import asyncio

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from kserve.protocol.rest.v2_datamodels import ModelMetadataResponse, ServerMetadataResponse

from oip_support import ALL_TYPES, MODEL_CASES, NP_DTYPES, assert_matches, to_numpy


# ---------------------------------------------------------------- tritonclient.http

@pytest.fixture(scope="module")
def tc(bettong):
    client = triton.InferenceServerClient(url=bettong.host_port)
    yield client
    client.close()


def triton_inputs(spec: dict, binary_data: bool = True) -> list:
    inputs = []
    for name, t in spec.items():
        inp = triton.InferInput(name, t["shape"], t["datatype"])
        if binary_data:
            inp.set_data_from_numpy(to_numpy(t))  # the client's default: binary
        else:
            inp.set_data_from_numpy(to_numpy(t), binary_data=False)
        inputs.append(inp)
    return inputs


def test_triton_server_live_and_ready(tc):
    assert tc.is_server_live() is True
    assert tc.is_server_ready() is True


def test_triton_model_ready(tc):
    for name in ("digits", "breast_cancer", "breast_cancer_chain", "all_types"):
        assert tc.is_model_ready(name) is True, name
    assert tc.is_model_ready("digits", model_version="1") is True
    assert tc.is_model_ready("no_such_pipeline") is False


def test_triton_server_metadata(tc):
    meta = tc.get_server_metadata()
    assert meta["name"] == "bettong"
    assert isinstance(meta["version"], str) and meta["version"]
    assert "binary_tensor_data" in meta["extensions"]


@pytest.mark.parametrize("pipeline, fixture", MODEL_CASES)
def test_triton_model_metadata(tc, expected, pipeline, fixture):
    exp = expected(fixture)
    meta = tc.get_model_metadata(pipeline)
    assert meta["name"] == pipeline
    assert "1" in meta["versions"]
    assert isinstance(meta["platform"], str) and meta["platform"]
    assert {i["name"]: i["datatype"] for i in meta["inputs"]} == \
        {n: t["datatype"] for n, t in exp["inputs"].items()}
    assert {o["name"]: o["datatype"] for o in meta["outputs"]} == \
        {n: t["datatype"] for n, t in exp["outputs"].items()}
    for tensor in meta["inputs"] + meta["outputs"]:
        assert all(isinstance(d, int) for d in tensor["shape"]), tensor
    assert tc.get_model_metadata(pipeline, model_version="1")["name"] == pipeline


@pytest.mark.parametrize("pipeline, fixture", MODEL_CASES)
def test_triton_infer_binary_defaults(tc, expected, pipeline, fixture):
    exp = expected(fixture)
    outputs = [triton.InferRequestedOutput(name) for name in exp["outputs"]]  # default: binary
    result = tc.infer(pipeline, triton_inputs(exp["inputs"]), outputs=outputs)
    for name, spec in exp["outputs"].items():
        # the output really travelled as binary tensor data
        assert "binary_data_size" in result.get_output(name)["parameters"], name
        assert "data" not in result.get_output(name)
        assert_matches(result.as_numpy(name), spec)
    assert result.get_response()["model_name"] == pipeline


@pytest.mark.parametrize("pipeline, fixture", MODEL_CASES)
def test_triton_infer_no_requested_outputs(tc, expected, pipeline, fixture):
    """No outputs listed: the client asks for all of them with binary_data_output."""
    exp = expected(fixture)
    result = tc.infer(pipeline, triton_inputs(exp["inputs"]))
    assert sorted(o["name"] for o in result.get_response()["outputs"]) == sorted(exp["outputs"])
    for name, spec in exp["outputs"].items():
        assert "binary_data_size" in result.get_output(name)["parameters"], name
        assert_matches(result.as_numpy(name), spec)


@pytest.mark.parametrize("pipeline, fixture", MODEL_CASES)
def test_triton_infer_json(tc, expected, pipeline, fixture):
    exp = expected(fixture)
    outputs = [triton.InferRequestedOutput(name, binary_data=False) for name in exp["outputs"]]
    result = tc.infer(pipeline, triton_inputs(exp["inputs"], binary_data=False), outputs=outputs)
    for name, spec in exp["outputs"].items():
        out = result.get_output(name)
        assert "data" in out and "binary_data_size" not in (out.get("parameters") or {}), out
        assert_matches(result.as_numpy(name), spec)


def test_triton_infer_one_output(tc, expected):
    exp = expected("digits_mlp")
    result = tc.infer("digits", triton_inputs(exp["inputs"]),
                      outputs=[triton.InferRequestedOutput("probabilities")])
    assert [o["name"] for o in result.get_response()["outputs"]] == ["probabilities"]
    assert result.as_numpy("label") is None
    assert_matches(result.as_numpy("probabilities"), exp["outputs"]["probabilities"])


def test_triton_infer_mixed_binary_and_json_outputs(tc, expected):
    exp = expected("breast_cancer_logreg")
    outputs = [triton.InferRequestedOutput("label", binary_data=False),
               triton.InferRequestedOutput("probabilities")]
    result = tc.infer("breast_cancer", triton_inputs(exp["inputs"]), outputs=outputs)
    assert "data" in result.get_output("label")
    assert "binary_data_size" in result.get_output("probabilities")["parameters"]
    for name, spec in exp["outputs"].items():
        assert_matches(result.as_numpy(name), spec)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_triton_all_datatypes(tc, expected, binary):
    exp = expected("all_types_identity")
    assert sorted(t["datatype"] for t in exp["inputs"].values()) == sorted(NP_DTYPES)
    outputs = [triton.InferRequestedOutput(f"out_{t}", binary_data=binary) for t in ALL_TYPES]
    result = tc.infer("all_types", triton_inputs(exp["inputs"], binary_data=binary), outputs=outputs)
    for t in ALL_TYPES:
        spec = exp["outputs"][f"out_{t}"]
        out = result.get_output(f"out_{t}")
        assert out["datatype"] == spec["datatype"]
        assert ("binary_data_size" in (out.get("parameters") or {})) is binary, out
        assert_matches(result.as_numpy(f"out_{t}"), spec, exact=True)


def test_triton_model_version(tc, expected):
    exp = expected("digits_mlp")
    result = tc.infer("digits", triton_inputs(exp["inputs"]), model_version="1")
    assert result.get_response()["model_version"] == "1"
    assert_matches(result.as_numpy("label"), exp["outputs"]["label"])
    with pytest.raises(InferenceServerException) as err:
        tc.infer("digits", triton_inputs(exp["inputs"]), model_version="99")
    assert err.value.status() == "404"
    assert "99" in err.value.message()


def test_triton_errors_then_server_still_answers(tc, expected):
    exp = expected("digits_mlp")
    with pytest.raises(InferenceServerException) as err:
        tc.infer("no_such_pipeline", triton_inputs(exp["inputs"]))
    assert err.value.status() == "404"
    assert "no_such_pipeline" in err.value.message()

    bad = triton.InferInput("input", [5, 63], "FP32")
    bad.set_data_from_numpy(np.zeros((5, 63), dtype=np.float32))
    with pytest.raises(InferenceServerException) as err:
        tc.infer("digits", [bad])
    assert err.value.status() == "400"
    assert "input" in err.value.message() and "63" in err.value.message()

    wrong_type = triton.InferInput("input", [5, 64], "FP64")
    wrong_type.set_data_from_numpy(to_numpy(exp["inputs"]["input"]).astype(np.float64))
    with pytest.raises(InferenceServerException) as err:
        tc.infer("digits", [wrong_type])
    assert err.value.status() == "400"
    assert "FP64" in err.value.message()

    assert tc.is_server_live() and tc.is_server_ready()
    result = tc.infer("digits", triton_inputs(exp["inputs"]))
    assert_matches(result.as_numpy("label"), exp["outputs"]["label"])


# ---------------------------------------------------------------- kserve InferenceRESTClient

def kserve_run(coro_fn):
    """Runs `coro_fn(client)` with a fresh v2 REST client on its own event loop."""
    async def main():
        async with InferenceRESTClient(RESTConfig(protocol="v2")) as client:
            return await coro_fn(client)
    return asyncio.run(main())


def kserve_request(model: str, spec: dict, **kwargs) -> InferRequest:
    inputs = []
    for name, t in spec.items():
        inp = InferInput(name, t["shape"], t["datatype"])
        inp.set_data_from_numpy(to_numpy(t))  # the client's default: binary
        assert "binary_data_size" in inp.parameters
        inputs.append(inp)
    return InferRequest(model_name=model, infer_inputs=inputs, **kwargs)


def test_kserve_health(bettong):
    async def check(client):
        return (await client.is_server_live(bettong.url), await client.is_server_ready(bettong.url),
                await client.is_model_ready(bettong.url, "digits"),
                await client.is_model_ready(bettong.url, "no_such_pipeline"))
    assert kserve_run(check) == (True, True, True, False)


def test_kserve_metadata_models(bettong, expected):
    """kserve's REST client has no metadata call: validate the responses with kserve's own v2 data models."""
    server = ServerMetadataResponse.model_validate(httpx.get(f"{bettong.url}/v2").json())
    assert "binary_tensor_data" in server.extensions
    for pipeline, fixture in MODEL_CASES:
        meta = ModelMetadataResponse.model_validate(httpx.get(f"{bettong.url}/v2/models/{pipeline}").json())
        exp = expected(fixture)
        assert meta.name == pipeline and "1" in meta.versions
        assert [i.name for i in meta.inputs] == list(exp["inputs"])
        assert sorted(o.name for o in meta.outputs) == sorted(exp["outputs"])


@pytest.mark.parametrize("pipeline, fixture", MODEL_CASES + [("add_mul", "add_mul")])
def test_kserve_infer_defaults(bettong, expected, pipeline, fixture):
    exp = expected(fixture)
    req = kserve_request(pipeline, exp["inputs"], request_id="req-1")
    res = kserve_run(lambda c: c.infer(bettong.url, req, model_name=pipeline))
    assert res.model_name == pipeline and res.id == "req-1"
    got = {o.name: o for o in res.outputs}
    assert sorted(got) == sorted(exp["outputs"])
    for name, spec in exp["outputs"].items():
        assert got[name].datatype == spec["datatype"]
        assert_matches(got[name].as_numpy(), spec)


def test_kserve_infer_binary_outputs(bettong, expected):
    """binary_data_output: the client parses the reply by Inference-Header-Content-Length."""
    exp = expected("breast_cancer_chain")
    req = kserve_request("breast_cancer_chain", exp["inputs"], parameters={"binary_data_output": True})
    headers = {}  # the client drops binary_data_size once decoded: the headers show the raw tensors
    res = kserve_run(lambda c: c.infer(bettong.url, req, model_name="breast_cancer_chain", response_headers=headers))
    assert int(headers["inference-header-content-length"]) < int(headers["content-length"])
    got = {o.name: o for o in res.outputs}
    for name, spec in exp["outputs"].items():
        assert_matches(got[name].as_numpy(), spec)


def test_kserve_all_datatypes_one_output(bettong, expected):
    exp = expected("all_types_identity")
    req = kserve_request("all_types", exp["inputs"],
                         request_outputs=[RequestedOutput(f"out_{t}") for t in ALL_TYPES if t != "float16"])
    res = kserve_run(lambda c: c.infer(bettong.url, req, model_name="all_types"))
    got = {o.name: o for o in res.outputs}
    assert "out_float16" not in got
    for t in ALL_TYPES:
        if t != "float16":
            assert_matches(got[f"out_{t}"].as_numpy(), exp["outputs"][f"out_{t}"], exact=True)


def test_kserve_errors_carry_server_message(bettong, expected):
    exp = expected("digits_mlp")
    req = kserve_request("no_such_pipeline", exp["inputs"])
    with pytest.raises(httpx.HTTPStatusError) as err:
        kserve_run(lambda c: c.infer(bettong.url, req, model_name="no_such_pipeline"))
    assert err.value.response.status_code == 404
    server_message = err.value.response.json()["error"]
    assert "no_such_pipeline" in server_message
    assert server_message in str(err.value)

    bad = InferInput("input", [5, 63], "FP32")
    bad.set_data_from_numpy(np.zeros((5, 63), dtype=np.float32))
    with pytest.raises(httpx.HTTPStatusError) as err:
        kserve_run(lambda c: c.infer(bettong.url, InferRequest("digits", [bad]), model_name="digits"))
    assert err.value.response.status_code == 400
    assert err.value.response.json()["error"] in str(err.value)

    # the server still answers after the errors
    res = kserve_run(lambda c: c.infer(bettong.url, kserve_request("digits", exp["inputs"]), model_name="digits"))
    assert_matches(res.get_output_by_name("label").as_numpy(), exp["outputs"]["label"])
