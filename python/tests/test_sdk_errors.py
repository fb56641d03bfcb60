"""Errors surface as bettong.errors exceptions carrying the server's code and message."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bettong
from bettong import errors
from bettong.errors import BettongError, Conflict, ConnectionFailed, InvalidInput, NotFound, Unauthorized

from sdk_support import fixture_model, free_port


def _assert_clean(e: BettongError) -> None:
    """The message is the server's (or ours), not an HTTP dump, and no httpx error rides along."""
    assert str(e) == f"{e.code}: {e.message}"
    for junk in ("HTTP/1.1", "Traceback", "httpx", "<html", "{\"error\""):
        assert junk not in str(e)
    assert e.__cause__ is None


def test_unknown_pipeline_is_not_found(client: bettong.Client, trained) -> None:
    for call in (
        lambda: client.get_pipeline("no-such-pipeline"),
        lambda: client.build_pipeline("no-such-pipeline").infer(trained.X.head(3)),
        lambda: client.build_pipeline("no-such-pipeline").infer(trained.X),
        lambda: client.build_pipeline("no-such-pipeline").logs(),
        lambda: client.build_pipeline("no-such-pipeline").status(),
        lambda: client.build_pipeline("no-such-pipeline").deploy(),
    ):
        with pytest.raises(NotFound) as e:
            call()
        assert e.value.code == "PIPELINE_NOT_FOUND" and e.value.status == 404
        assert "no-such-pipeline" in e.value.message
        _assert_clean(e.value)


def test_unknown_model_is_not_found(client: bettong.Client, unique: str) -> None:
    with pytest.raises(NotFound) as e:
        client.get_model("no-such-model")
    assert e.value.code == "MODEL_NOT_FOUND"
    with pytest.raises(NotFound) as e:
        client.build_pipeline(f"p-{unique}").add_model_step("no-such-model").create()
    assert e.value.code == "MODEL_NOT_FOUND"
    client.upload_model(f"m-{unique}", fixture_model("add_mul"))
    with pytest.raises(NotFound) as e:
        client.get_model_version(f"m-{unique}", 7)
    assert e.value.code == "MODEL_VERSION_NOT_FOUND"
    _assert_clean(e.value)


@pytest.mark.parametrize("rows", [5, 600], ids=["small-frame", "large-frame"])
def test_missing_column_is_invalid_input(breast_cancer_pipeline: bettong.Pipeline, trained, rows: int) -> None:
    X = trained.X.head(rows)
    with pytest.raises(InvalidInput) as e:
        breast_cancer_pipeline.infer(X.drop(columns=["mean radius"]))
    assert e.value.code == "MISSING_INPUT"
    assert "29 columns" in e.value.message and "30 features" in e.value.message
    _assert_clean(e.value)


def test_missing_named_input_is_invalid_input(client: bettong.Client, unique: str) -> None:
    model = client.upload_model(f"add-mul-{unique}", fixture_model("add_mul"))
    p = client.build_pipeline(f"add-mul-{unique}").add_model_step(model).deploy()
    df = pd.DataFrame({"a": [np.ones(3, np.float32)] * 4})
    with pytest.raises(InvalidInput) as e:
        p.infer(df)
    assert e.value.code == "MISSING_INPUT" and "'b'" in e.value.message
    with pytest.raises(InvalidInput) as e:
        p.infer(df.assign(b=df["a"], c=1.0))
    assert e.value.code == "UNKNOWN_INPUT" and "'c'" in e.value.message
    with pytest.raises(InvalidInput) as e:
        p.infer(pd.DataFrame({"a": [np.ones(3)] * 2, "b": [np.ones(4)] * 2}))
    assert e.value.code == "SHAPE_MISMATCH" and "'b'" in e.value.message
    with pytest.raises(InvalidInput) as e:
        p.infer({"a": np.ones((2, 3)), "b": np.ones((3, 3))})
    assert e.value.code == "SHAPE_MISMATCH"
    p.undeploy()


@pytest.mark.parametrize("rows", [5, 600], ids=["small-frame", "large-frame"])
def test_wrong_type_is_invalid_input(breast_cancer_pipeline: bettong.Pipeline, trained, rows: int) -> None:
    X = trained.X.head(rows).astype(object)
    X.iloc[3, 2] = "abc"
    with pytest.raises(InvalidInput) as e:
        breast_cancer_pipeline.infer(X)
    assert e.value.code == "INVALID_TENSOR"
    assert "'mean perimeter'" in e.value.message and "row 3" in e.value.message and "'abc'" in e.value.message
    _assert_clean(e.value)
    # A text column (numbers written as strings) is refused too, not silently parsed.
    with pytest.raises(InvalidInput):
        breast_cancer_pipeline.infer(trained.X.head(rows).astype(str))


def test_server_refusals_are_invalid_input(client: bettong.Client, unique: str) -> None:
    with pytest.raises(InvalidInput) as e:
        client.upload_model(f"zipmap-{unique}", fixture_model("breast_cancer_logreg_zipmap"))
    assert (e.value.code, e.value.status) == ("UNSUPPORTED_MODEL_OUTPUT", 422)
    assert "zipmap" in e.value.message
    with pytest.raises(InvalidInput) as e:
        client.upload_model(f"garbage-{unique}", b"not an onnx file")
    assert (e.value.code, e.value.status) == ("INVALID_MODEL", 422)
    with pytest.raises(InvalidInput) as e:
        client.upload_model("bad name!", fixture_model("add_mul"))
    assert (e.value.code, e.value.status) == ("INVALID_NAME", 400)
    model = client.upload_model(f"ok-{unique}", fixture_model("add_mul"))
    with pytest.raises(InvalidInput) as e:
        client.build_pipeline(f"p-{unique}").add_model_step(model).deploy(replicas=-1)
    assert (e.value.code, e.value.status) == ("INVALID_REQUEST", 400)
    _assert_clean(e.value)
    assert client.list_models()  # the server keeps serving


def test_not_deployed_is_conflict(client: bettong.Client, unique: str) -> None:
    model = client.upload_model(f"nd-{unique}", fixture_model("add_mul"))
    p = client.build_pipeline(f"nd-{unique}").add_model_step(model)
    p.create()
    with pytest.raises(Conflict) as e:
        p.infer({"a": np.ones((1, 3)), "b": np.ones((1, 3))})
    assert (e.value.code, e.value.status) == ("PIPELINE_NOT_DEPLOYED", 409)


def test_unreachable_server(monkeypatch) -> None:
    c = bettong.Client(f"http://127.0.0.1:{free_port()}", timeout=5)
    with pytest.raises(ConnectionFailed) as e:
        c.list_models()
    assert e.value.code == "UNREACHABLE" and e.value.status is None
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert c.is_live() is False


def test_error_classes_by_status() -> None:
    cases = {400: errors.InvalidInput, 401: errors.Unauthorized, 403: errors.Forbidden, 404: errors.NotFound,
             409: errors.Conflict, 413: errors.InvalidInput, 415: errors.InvalidInput, 422: errors.InvalidInput,
             500: errors.ServerError, 503: errors.ServerError, 418: errors.BettongError}
    for status, cls in cases.items():
        e = errors.error_for_status(status, "SOME_CODE", "what went wrong")
        assert type(e) is cls and isinstance(e, BettongError)
        assert (e.status, e.code, e.message, str(e)) == (status, "SOME_CODE", "what went wrong", "SOME_CODE: what went wrong")


def test_token_is_sent_as_bearer(server, monkeypatch) -> None:
    monkeypatch.setenv("BETTONG_URL", server.url)
    monkeypatch.setenv("BETTONG_TOKEN", "from-env")
    with bettong.Client() as c:
        assert c.url == server.url
        assert c._http._client.headers["authorization"] == "Bearer from-env"
        assert "from-env" not in repr(c)
        # A token the server never gave out: a server without access control ignores it, one
        # with access control refuses it as Unauthorized (401) with its code, not an HTTP dump.
        try:
            c.list_models()
        except Unauthorized as e:
            assert e.status == 401 and e.code
            _assert_clean(e)
    with bettong.Client(server.url, token="explicit") as c:
        assert c._http._client.headers["authorization"] == "Bearer explicit"
    monkeypatch.delenv("BETTONG_TOKEN")
    with bettong.Client(server.url) as c:
        assert "authorization" not in c._http._client.headers
