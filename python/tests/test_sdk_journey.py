"""
The notebook journey against a real server: a scikit-learn model trained here, exported with
skl2onnx, uploaded, put in a pipeline, deployed, inferred on with DataFrames (the predictions
equal scikit-learn's own), its logs read back as a DataFrame, and undeployed.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import bettong
from bettong.errors import Conflict

TOL = 1e-5


def _stack(col: pd.Series) -> np.ndarray:
    return np.stack(col.to_list())


def test_notebook_journey(client: bettong.Client, trained, unique: str) -> None:
    model = client.upload_model(f"breast-cancer-{unique}", trained.onnx_bytes)
    assert model.created is True and model.version == 1
    assert [str(s) for s in model.signature.inputs] == ["X FP32[-1,30]"]
    assert [s.name for s in model.signature.outputs] == ["label", "probabilities"]

    pipeline = client.build_pipeline(f"breast-cancer-{unique}").add_model_step(model)
    assert pipeline.deploy(replicas=1) is pipeline
    status = pipeline.status()
    assert status.running and status.pipeline_version == 1 and status.replicas == 1

    t0 = int(time.time() * 1000)
    X = trained.X
    small = pipeline.infer(X.head(20))          # records JSON, one request
    result = pipeline.infer(X)                   # binary tensors
    for frame, rows in ((small, X.head(20)), (result, X)):
        assert list(frame.columns) == ["time", "in.X", "out.label", "out.probabilities"]
        assert frame.index.equals(rows.index)
        assert frame["out.label"].dtype == np.int64
        np.testing.assert_allclose(_stack(frame["out.probabilities"]), trained.expected_proba(rows), atol=TOL, rtol=0)
        np.testing.assert_array_equal(frame["out.label"].to_numpy(), trained.expected_label(rows))
        np.testing.assert_array_equal(_stack(frame["in.X"]), rows.to_numpy(dtype=np.float32))
        assert (frame["time"] >= t0).all()

    logs = pipeline.logs(start=t0, limit=None)
    assert isinstance(logs, pd.DataFrame)
    assert len(logs) == 20 + len(X)
    assert {"time", "in.X", "out.label", "out.probabilities", "metadata.pipeline_version"} <= set(logs.columns)
    # Chronological with a range: the small frame's rows first, then the large one's, in order.
    np.testing.assert_array_equal(_stack(logs["in.X"]), np.concatenate([X.head(20), X]).astype(np.float32))
    np.testing.assert_allclose(
        _stack(logs["out.probabilities"]),
        np.concatenate([_stack(small["out.probabilities"]), _stack(result["out.probabilities"])]), atol=0, rtol=0)
    np.testing.assert_array_equal(logs["out.label"].to_numpy(),
                                  np.concatenate([small["out.label"], result["out.label"]]))
    # The records route answers with the server's own time, the one that is logged.
    np.testing.assert_array_equal(logs["time"].to_numpy()[:20], small["time"].to_numpy())
    assert (logs["metadata.pipeline_version"] == 1).all()
    assert logs["metadata.models"].iloc[0][0]["sha256"] == model.sha256

    assert pipeline.undeploy() is pipeline
    assert pipeline.status().status == "undeployed"
    with pytest.raises(Conflict) as e:
        pipeline.infer(X.head(2))
    assert e.value.code == "PIPELINE_NOT_DEPLOYED" and e.value.status == 409


def test_large_frame_goes_in_batches_with_the_same_answers(client: bettong.Client, trained, unique: str, capsys) -> None:
    model = client.upload_model(f"bc-large-{unique}", trained.onnx_bytes)
    pipeline = client.build_pipeline(f"bc-large-{unique}").add_model_step(model).deploy()
    big = trained.X.sample(20_000, replace=True, random_state=0).reset_index(drop=True)
    big += np.random.default_rng(0).normal(0, 0.01, big.shape).astype(np.float32) * big.std().to_numpy(np.float32)

    t0 = int(time.time() * 1000)
    result = pipeline.infer(big, batch_size=3_000)
    assert len(result) == 20_000
    np.testing.assert_allclose(_stack(result["out.probabilities"]), trained.expected_proba(big), atol=TOL, rtol=0)
    np.testing.assert_array_equal(result["out.label"].to_numpy(), trained.expected_label(big))
    assert "20000/20000" in capsys.readouterr().err  # the tqdm progress bar ran to the end

    # 7 requests of at most 3,000 rows, each logged under its own request id; 20,000 rows read back over 2 pages.
    logs = pipeline.logs(start=t0, limit=None)
    assert len(logs) == 20_000
    sizes = logs.groupby("metadata.request_id", sort=False).size().tolist()
    assert sizes == [3_000] * 6 + [2_000]
    np.testing.assert_array_equal(_stack(logs["in.X"]), big.to_numpy(dtype=np.float32))
    np.testing.assert_allclose(_stack(logs["out.probabilities"]), _stack(result["out.probabilities"]), atol=0, rtol=0)

    # The default batch size (5,000 rows) gives the same answers, without asking for a progress bar.
    again = pipeline.infer(big, progress=False)
    np.testing.assert_array_equal(_stack(again["out.probabilities"]), _stack(result["out.probabilities"]))
    assert capsys.readouterr().err == ""
    pipeline.undeploy()
