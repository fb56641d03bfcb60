"""Models, model versions, pipelines, pipeline versions and deployments: get, list, display."""
from __future__ import annotations

import io
import json
from html import escape as html_escape

import numpy as np
import onnx
import pytest

import bettong

from sdk_support import MODELS_DIR, fixture_model


def _shows(obj, *needles: str) -> None:
    text, html = repr(obj), obj._repr_html_()
    assert html.startswith("<table")
    for n in needles:
        assert n in text, (n, text)
        assert html_escape(n) in html, (n, html)


def test_models_upload_list_get_download(client: bettong.Client, unique: str, tmp_path) -> None:
    name = f"models-{unique}"
    path = fixture_model("breast_cancer_logreg")
    v1 = client.upload_model(name, path)
    assert (v1.model, v1.version, v1.created) == (name, 1, True)
    assert v1.size == path.stat().st_size and len(v1.sha256) == 64 and v1.runtime == "onnx"
    assert v1.signature.inputs[0] == bettong.TensorSpec("input", "FP32", (-1, 30))
    assert v1.signature.inputs[0].numpy_dtype == np.float32
    # Identical content, whichever way it is given, is the same version.
    for same in (path.read_bytes(), str(path), io.BytesIO(path.read_bytes()), onnx.load(str(path))):
        again = client.upload_model(name, same)
        assert (again.version, again.created, again.sha256) == (1, False, v1.sha256)
    v2 = client.upload_model(name, fixture_model("breast_cancer_logreg_scaled"))
    assert (v2.version, v2.created) == (2, True)

    model = client.get_model(name)
    assert (model.name, model.latest_version, model.version_count) == (name, 2, 2)
    versions = model.versions()
    assert [v.version for v in versions] == [1, 2]
    assert model.version(1).sha256 == v1.sha256 and model.version().version == 2
    assert client.get_model_version(name).version == 2

    assert client.download_model(name, 1) == path.read_bytes()
    assert v1.download() == path.read_bytes()
    out = model.download(tmp_path / "m.onnx", version=1)
    assert out == tmp_path / "m.onnx" and out.read_bytes() == path.read_bytes()
    assert model.download() == fixture_model("breast_cancer_logreg_scaled").read_bytes()

    models = client.list_models()
    assert name in [m.name for m in models]
    df = models.to_dataframe()
    assert list(df.columns) == ["name", "latest_version", "versions", "created_at"]
    assert df.set_index("name").loc[name, "latest_version"] == 2
    assert str(df["created_at"].dtype).startswith("datetime64")
    vdf = versions.to_dataframe()
    assert vdf["version"].tolist() == [1, 2] and vdf["sha256"].iloc[0] == v1.sha256

    _shows(v1, name, "input FP32[-1,30]", "probabilities FP32[-1,2]", v1.sha256)
    _shows(model, name, "latest_version")
    _shows(models, name)
    _shows(versions, name, v1.sha256[:12])


def test_pipelines_versions_deploy_status(client: bettong.Client, unique: str) -> None:
    scaler = client.upload_model(f"scaler-{unique}", fixture_model("breast_cancer_scaler"))
    logreg = client.upload_model(f"logreg-{unique}", fixture_model("breast_cancer_logreg_scaled"))
    full = client.upload_model(f"full-{unique}", fixture_model("breast_cancer_logreg"))
    name = f"chain-{unique}"

    p = client.build_pipeline(name)
    _shows(p, "not created yet")
    p.add_model_step(scaler).add_model_step(logreg.model)
    assert [str(s) for s in p.steps] == [f"scaler-{unique} v1", f"logreg-{unique} (latest)"]
    v1 = p.create()
    assert (v1.version, v1.created) == (1, True)
    assert [str(s) for s in v1.steps] == [f"scaler-{unique} v1", f"logreg-{unique} v1"]
    assert p.create().created is False  # unchanged steps: the same version

    # Re-running a notebook's build_pipeline starts an empty draft again: no duplicated steps.
    p_again = client.build_pipeline(name).add_model_step(scaler).add_model_step(logreg)
    assert p_again.create().version == 1

    v2 = p.clear().add_model_step(full).create()
    assert (v2.version, v2.created) == (2, True)
    assert [v.version for v in p.versions()] == [1, 2]
    assert p.version(1).steps[1].model == f"logreg-{unique}"

    got = client.get_pipeline(name)
    assert [str(s) for s in got.steps] == [f"full-{unique} v1"]  # starts as the latest version
    assert got.replace_with_model_step(0, scaler).steps[0] == bettong.ModelStep(f"scaler-{unique}", 1)
    got.remove_step(0)
    assert got.steps == ()

    status = p.version(1).deploy(replicas=2, threads=1)
    assert (status.status, status.pipeline_version, status.replicas, status.threads) == ("running", 1, 2, 1)
    # The chain answers as its expected file says.
    exp = json.loads((MODELS_DIR / "breast_cancer_chain.expected.json").read_text())
    x = np.asarray(exp["inputs"]["input"]["data"], np.float32).reshape(exp["inputs"]["input"]["shape"])
    out = p.infer({"input": x})
    np.testing.assert_allclose(out["probabilities"].reshape(-1), exp["outputs"]["probabilities"]["data"], atol=1e-5)
    assert p.signature().inputs[0].name == "input"

    deployed = {d.pipeline: d for d in client.list_deployments()}
    assert deployed[name].pipeline_version == 1
    listed = {x.name: x for x in client.list_pipelines()}
    assert listed[name]._row()["status"] == "running" and listed[name]._row()["latest_version"] == 2
    df = client.list_pipelines().to_dataframe()
    assert {"name", "latest_version", "status", "deployed_version", "created_at"} <= set(df.columns)
    assert df.set_index("name").loc[name, "deployed_version"] == 1

    _shows(p, name, "running", "replicas", "full-", "deployed_version")
    _shows(p.version(1), f"scaler-{unique} v1", "input FP32[-1,30]")
    _shows(p.versions(), "2 pipeline versions")
    _shows(p.status(), "running", "replicas")
    _shows(client.list_deployments(), name)
    _shows(client.list_pipelines(), name)

    p.deploy()  # the draft (the full model) is version 2
    assert p.status().pipeline_version == 2
    p.undeploy()
    st = p.status()
    assert (st.status, st.pipeline_version, st.config, st.running) == ("undeployed", None, None, False)
    assert name not in {d.pipeline for d in client.list_deployments()}


def test_empty_lists_show(client: bettong.Client) -> None:
    empty = bettong.ModelList()
    assert "0 models" in repr(empty) and "none" in empty._repr_html_()
    assert list(empty.to_dataframe().columns) == ["name", "latest_version", "versions", "created_at"]


def test_pipelines_built_elsewhere_keep_their_steps_and_rules(client: bettong.Client, unique: str) -> None:
    """A/B steps and validation rules are not in this SDK yet; pipelines that have them (made
    with the CLI or the REST API) still show, deploy, and keep their rules when a step changes."""
    a = client.upload_model(f"arm-a-{unique}", fixture_model("breast_cancer_logreg"))
    b = client.upload_model(f"arm-b-{unique}", fixture_model("breast_cancer_logreg_scaled"))
    name = f"ab-{unique}"
    rules = {"confident": "out.probabilities[1] <= 0.95"}
    client._http.json("POST", "/v1/pipelines", json_body={
        "name": name, "validations": rules,
        "steps": [{"ab": {"arms": [{"model": a.model, "weight": 2}, {"model": b.model, "weight": 1}]}}],
    })
    p = client.get_pipeline(name)
    assert [str(s) for s in p.steps] == [f"ab(arm-a-{unique} v1, arm-b-{unique} v1)"]
    assert p.version().validations == rules
    _shows(p.version(), "ab(arm-a-", "confident: out.probabilities[1] <= 0.95")
    _shows(p, "ab(arm-a-")
    assert p.deploy().status().pipeline_version == 1  # the draft is the latest version: no new one
    assert p.create().created is False
    with pytest.raises(NotImplementedError, match="cannot send steps of kind 'ab'"):
        p.add_model_step(a).create()
    p.undeploy()

    # A model-step pipeline with a rule: swapping its model in the draft keeps the rule.
    name = f"rules-{unique}"
    client._http.json("POST", "/v1/pipelines", json_body={"name": name, "validations": rules, "steps": [{"model": a.model}]})
    v2 = client.get_pipeline(name).replace_with_model_step(0, b).create()
    assert (v2.version, v2.validations, [str(s) for s in v2.steps]) == (2, rules, [f"arm-b-{unique} v1"])
