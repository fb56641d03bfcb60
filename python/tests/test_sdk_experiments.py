"""Experiments and monitoring: A/B and shadow steps, validations, hot swap, compare, JS steps, assays."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import bettong
from bettong.pipeline import ABStep, ShadowStep

from sdk_support import REPO_ROOT, fixture_model

RULE = "confident"
EXPR = "out.probabilities[1] >= 0.9 or out.probabilities[1] <= 0.1"


def _models(client: bettong.Client, unique: str) -> tuple[bettong.ModelVersion, bettong.ModelVersion]:
    a = client.upload_model(f"bc-logreg-{unique}", fixture_model("breast_cancer_logreg"))
    b = client.upload_model(f"bc-scaled-{unique}", fixture_model("breast_cancer_logreg_scaled"))
    return a, b


def _expected_flags(out: pd.DataFrame) -> np.ndarray:
    p1 = np.stack(out["out.probabilities"].to_list())[:, 1]
    return ~((p1 >= 0.9) | (p1 <= 0.1))


def test_step_json() -> None:
    ab = ABStep(((bettong.ModelStep("a", 1), 3.0), (bettong.ModelStep("b"), None)), key="metadata.user",
                mapping={"x": "a:1"}, default="b")
    assert ab.to_json() == {"ab": {"arms": [{"model": "a", "version": 1, "weight": 3.0}, {"model": "b"}],
                                   "key": "metadata.user", "mapping": {"x": "a:1"}, "default": "b"}}
    sh = ShadowStep(bettong.ModelStep("a"), (bettong.ModelStep("b", 2),))
    assert sh.to_json() == {"shadow": {"champion": {"model": "a"}, "challengers": [{"model": "b", "version": 2}]}}


def test_ab_pipeline_swap_and_compare(client: bettong.Client, unique: str, trained) -> None:
    a, b = _models(client, unique)
    name = f"ab-{unique}"
    p = client.build_pipeline(name).add_ab_step([(a, 1), (b, 1)], key="metadata.user").deploy()
    step = p.version().steps[0]
    assert step.kind == "ab" and len(step.models) == 2
    X = trained.X.head(60)
    for user in range(8):
        p.infer(X.iloc[user * 5:(user + 1) * 5], metadata={"user": f"u{user}"})
    cmp = p.compare()
    assert isinstance(cmp, pd.DataFrame)
    answers = cmp[cmp["role"] == "answer"]
    assert len(answers) == 2 and answers["rows"].sum() == 40
    assert {"latency_ms.p50", "out.probabilities[1].mean", "out.probabilities[1].p50"} <= set(cmp.columns)

    dep = p.swap(1, b)
    assert dep.running and dep.pipeline_version == 2 and dep.swap_ms is not None
    assert p.version().steps[0].kind == "model" and p.version().steps[0].model == b.model
    out = p.infer(X)
    assert len(out) == 60
    logs = p.logs(limit=5)
    assert (logs["metadata.pipeline_version"] == 2).all()


def test_shadow_pipeline(client: bettong.Client, unique: str, trained) -> None:
    a, b = _models(client, unique)
    p = client.build_pipeline(f"shadow-{unique}").add_shadow_step(a, [b]).deploy()
    out = p.infer(trained.X.head(10))
    np.testing.assert_allclose(np.stack(out["out.probabilities"].to_list()),
                               trained.expected_proba(trained.X.head(10)), atol=1e-2)
    deadline = time.monotonic() + 10
    while True:
        cmp = p.compare()
        if set(cmp["role"]) >= {"answer", "shadow"} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(cmp["role"]) == {"answer", "shadow"}
    shadow = cmp[cmp["role"] == "shadow"].iloc[0]
    assert shadow["rows"] == 10 and b.model in shadow["models"]


def test_validations_flag_rows(client: bettong.Client, unique: str, trained) -> None:
    a, _ = _models(client, unique)
    p = client.build_pipeline(f"val-{unique}").add_model_step(a).add_validation(RULE, EXPR)
    assert p.validations == {RULE: EXPR}
    p.deploy()
    assert p.version().validations == {RULE: EXPR}

    small = p.infer(trained.X.head(50))
    assert list(small.columns[-2:]) == ["anomaly.count", f"anomaly.{RULE}"]
    np.testing.assert_array_equal(small[f"anomaly.{RULE}"].to_numpy(), _expected_flags(small))
    np.testing.assert_array_equal(small["anomaly.count"].to_numpy(), _expected_flags(small).astype(int))

    big = p.infer(trained.X, transport="auto", progress=False)  # 569 rows: the binary OIP path
    assert list(big.columns[-2:]) == ["anomaly.count", f"anomaly.{RULE}"]
    assert big[f"anomaly.{RULE}"].dtype == bool and big["anomaly.count"].dtype == np.int32
    np.testing.assert_array_equal(big[f"anomaly.{RULE}"].to_numpy(), _expected_flags(big))
    assert big[f"anomaly.{RULE}"].any()

    flagged = p.logs(limit=None, anomaly=True)
    clean = p.logs(limit=None, anomaly=False)
    assert len(flagged) == int(small["anomaly.count"].sum() + big["anomaly.count"].sum())
    assert len(flagged) + len(clean) == 50 + len(trained.X)


def test_js_step_upload(client: bettong.Client, unique: str, trained) -> None:
    js = client.upload_model(f"halve-{unique}", REPO_ROOT / "testdata" / "steps" / "scale_features.ts")
    assert js.created is not False
    a, _ = _models(client, unique)
    p = client.build_pipeline(f"js-{unique}").add_model_step(js).add_model_step(a).deploy()
    assert [s.name for s in p.signature().inputs] == ["raw"]
    out = p.infer(trained.X.head(5))
    assert len(out) == 5 and "out.probabilities" in out.columns
    with pytest.raises(bettong.InvalidInput):
        client.upload_model(f"bad-{unique}", b"not javascript (", runtime="js")


@pytest.mark.skipif(not (REPO_ROOT / ".venv-steps" / "bin" / "python").exists(), reason="no .venv-steps (scripts/test makes it)")
def test_python_step_upload(client: bettong.Client, unique: str, trained) -> None:
    folder = REPO_ROOT / "testdata" / "steps" / "python" / "threshold"
    step = client.upload_model(f"diagnose-{unique}", folder)
    assert step.runtime == "python"
    single = client.upload_model(f"scale-{unique}", REPO_ROOT / "testdata" / "steps" / "python" / "scale_features.py")
    assert single.runtime == "python"
    a, _ = _models(client, unique)
    p = client.build_pipeline(f"py-{unique}").add_model_step(a).add_model_step(step).deploy()
    out = p.infer(trained.X.head(20))
    malignant = trained.expected_proba(trained.X.head(20))[:, 0]
    np.testing.assert_allclose(out["out.score"].to_numpy(), malignant, rtol=1e-5, atol=1e-6)
    assert out["out.diagnosis"].to_list() == ["malignant" if m >= 0.5 else "benign" for m in malignant]
    with pytest.raises(bettong.InvalidInput, match="SyntaxError"):
        client.upload_model(f"bad-py-{unique}", b"def predict(df):\n  return {\n", runtime="python")


@pytest.mark.skipif(not (REPO_ROOT / ".venv-steps" / "bin" / "python").exists(), reason="no .venv-steps (scripts/test makes it)")
@pytest.mark.skipif(not (REPO_ROOT / ".venv-steps" / "bin" / "python").exists(), reason="no .venv-steps (scripts/test makes it)")
def test_python_model_with_requirements_waits_for_its_environment(client: bettong.Client, unique: str, tmp_path) -> None:
    import shutil

    folder = tmp_path / "tabulated"
    shutil.copytree(REPO_ROOT / "testdata" / "steps" / "python" / "tabulated", folder)
    with open(folder / "requirements.txt", "a") as f:
        f.write(f"# {unique}\n")  # environments are cached across runs: this one is new
    v = client.upload_model(f"tab-{unique}", folder)
    assert v.runtime == "python" and [o.name for o in v.signature.outputs] == ["text"]
    assert client.model_build(f"tab-{unique}", v.version)["status"] == "ready"
    (folder / "requirements.txt").write_text(f"bettong-no-such-package-0xdeadbeef\n# {unique}\n")
    with pytest.raises(bettong.InvalidInput, match="bettong-no-such-package-0xdeadbeef"):
        client.upload_model(f"tab-bad-{unique}", folder)


def test_fitted_estimator_upload(client: bettong.Client, unique: str, trained) -> None:
    v = client.upload_model(f"churn-{unique}", trained.clf, sample=trained.X[:5])
    assert v.runtime == "python"
    assert [i.name for i in v.signature.inputs] == list(trained.X.columns)
    assert [o.name for o in v.signature.outputs] == ["label", "probabilities"]
    p = client.build_pipeline(f"churn-{unique}").add_model_step(v).deploy()
    X = trained.X.head(40)
    out = p.infer(X)
    np.testing.assert_allclose(np.stack(out["out.probabilities"].to_list()), trained.clf.predict_proba(X.astype(np.float64)), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(out["out.label"].to_numpy(), trained.clf.predict(X.astype(np.float64)))


def test_assay_preview_plot_create(client: bettong.Client, unique: str, trained) -> None:
    a, _ = _models(client, unique)
    p = client.build_pipeline(f"drift-{unique}").add_model_step(a).deploy()
    start = int(time.time() * 1000) - 1000
    p.infer(trained.X, progress=False)
    p.infer(trained.X.head(50) * 1.5)
    end = int(time.time() * 1000) + 1000
    baseline = trained.expected_proba(trained.X)[:, 1]
    assay = (client.build_assay(f"drift-{unique}", p, "out.probabilities", index=1)
             .set_baseline_values(baseline).set_window(500, start=start)
             .set_bins(5).set_metric("psi", warning=0.1, alert=0.25))
    preview = assay.preview(start=start, end=end)
    assert isinstance(preview, pd.DataFrame) and len(preview) >= 1
    assert {"start", "end", "count", "score", "status"} <= set(preview.columns)
    assert preview["count"].sum() == len(trained.X) + 50
    assert set(preview["status"]) <= {"ok", "warning", "alert", "no_data"}
    assert preview.baseline["counts"] and len(preview.baseline["labels"]) == len(preview.baseline["counts"])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = preview.plot()
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    plt.close(fig)

    saved = assay.create()
    assert saved.state == "active" and saved.name == assay.name
    assert assay.name in [x.name for x in client.list_assays()]
    assert "name" in client.list_assays().to_dataframe().columns
    results = saved.results()
    assert isinstance(results, pd.DataFrame) and "score" in results.columns
    assert saved.pause().state == "paused"
    assert saved.resume().state == "active"
    saved.delete()
    with pytest.raises(bettong.NotFound):
        client.get_assay(assay.name)
