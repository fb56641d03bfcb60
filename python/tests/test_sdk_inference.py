"""Inference inputs and outputs: DataFrames, dicts of arrays, every datatype, files, logs."""
from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bettong
from bettong.pipeline import time_param

from sdk_support import MODELS_DIR, fixture_model

DTYPES = {"bool": np.bool_, "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
          "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
          "float16": np.float16, "float32": np.float32, "float64": np.float64, "string": object}


def _stack(col: pd.Series) -> np.ndarray:
    return np.stack(col.to_list())


def _deploy(client: bettong.Client, fixture: str, name: str) -> bettong.Pipeline:
    model = client.upload_model(name, fixture_model(fixture))
    return client.build_pipeline(name).add_model_step(model).deploy()


def test_dict_of_arrays_in_and_out(breast_cancer_pipeline: bettong.Pipeline, trained) -> None:
    X = trained.X.to_numpy()[:40]
    out = breast_cancer_pipeline.infer({"X": X})
    assert set(out) == {"label", "probabilities"}
    assert out["probabilities"].dtype == np.float32 and out["probabilities"].shape == (40, 2)
    np.testing.assert_allclose(out["probabilities"], trained.expected_proba(trained.X.head(40)), atol=1e-5)
    batched = breast_cancer_pipeline.infer({"X": X}, batch_size=7, transport="binary", progress=False)
    np.testing.assert_array_equal(batched["probabilities"], out["probabilities"])
    np.testing.assert_array_equal(batched["label"], out["label"])


def test_named_array_columns_and_both_transports(client: bettong.Client, unique: str) -> None:
    p = _deploy(client, "add_mul", f"add-mul-{unique}")
    exp = json.loads((MODELS_DIR / "add_mul.expected.json").read_text())
    a = np.asarray(exp["inputs"]["a"]["data"], np.float32).reshape(2, 3)
    b = np.asarray(exp["inputs"]["b"]["data"], np.float32).reshape(2, 3)
    df = pd.DataFrame({"a": list(a), "b": [row.tolist() for row in b]}, index=["x", "y"])
    for transport in ("records", "binary", "auto"):
        out = p.infer(df, transport=transport)
        assert list(out.columns) == ["time", "in.a", "in.b", "out.sum", "out.product"]
        assert list(out.index) == ["x", "y"]
        np.testing.assert_array_equal(_stack(out["out.sum"]).reshape(-1), exp["outputs"]["sum"]["data"])
        np.testing.assert_array_equal(_stack(out["out.product"]).reshape(-1), exp["outputs"]["product"]["data"])
        assert _stack(out["out.sum"]).dtype == np.float32
    # A results or logs frame's in.* columns can be fed back.
    again = p.infer(out[["in.a", "in.b"]])
    np.testing.assert_array_equal(_stack(again["out.sum"]), _stack(out["out.sum"]))
    p.undeploy()


@pytest.mark.parametrize("transport", ["binary", "records"])
def test_every_datatype_round_trips(client: bettong.Client, unique: str, transport: str) -> None:
    p = _deploy(client, "all_types_identity", f"all-types-{transport}-{unique}")
    exp = json.loads((MODELS_DIR / "all_types_identity.expected.json").read_text())
    data = {}
    for t, dtype in DTYPES.items():
        spec = exp["inputs"][f"in_{t}"]
        data[f"in_{t}"] = np.asarray(spec["data"], dtype=dtype).reshape(spec["shape"])
    out = p.infer(data, transport=transport)
    for t, dtype in DTYPES.items():
        got, want = out[f"out_{t}"], data[f"in_{t}"]
        assert got.shape == want.shape, t
        if dtype is object:
            assert got.tolist() == want.tolist()
        else:
            assert got.dtype == want.dtype, t
            np.testing.assert_array_equal(got, want)
    frame = p.infer(pd.DataFrame({k: list(v) for k, v in data.items()}), transport=transport)
    np.testing.assert_array_equal(_stack(frame["out.out_int64"]), data["in_int64"])
    assert _stack(frame["out.out_float16"]).dtype == np.float16
    assert _stack(frame["out.out_string"]).tolist() == data["in_string"].tolist()
    p.undeploy()


def test_binary_keeps_what_json_cannot(client: bettong.Client, unique: str) -> None:
    p = _deploy(client, "all_types_identity", f"exact-{unique}")
    exp = json.loads((MODELS_DIR / "all_types_identity.expected.json").read_text())
    data = {n: np.asarray(s["data"], dtype=DTYPES[n[3:]]).reshape(s["shape"]) for n, s in exp["inputs"].items()}
    data["in_int64"] = np.array([[2**62 + 1, -(2**62) - 3]] * 3, dtype=np.int64)
    data["in_uint64"] = np.array([[2**64 - 1, 2**53 + 1]] * 3, dtype=np.uint64)
    data["in_float64"] = np.array([[np.nan, np.inf]] * 3)
    out = p.infer(data)  # auto: JSON cannot carry these exactly, so binary goes
    np.testing.assert_array_equal(out["out_int64"], data["in_int64"])
    np.testing.assert_array_equal(out["out_uint64"], data["in_uint64"])
    assert np.isnan(out["out_float64"][:, 0]).all() and np.isinf(out["out_float64"][:, 1]).all()
    p.undeploy()


def test_infer_from_files(breast_cancer_pipeline: bettong.Pipeline, trained, tmp_path) -> None:
    X = trained.X.head(150)
    want = _stack(breast_cancer_pipeline.infer(X)["out.probabilities"])
    X.to_csv(tmp_path / "x.csv", index=False)
    X.to_json(tmp_path / "x.json", orient="records", double_precision=15)
    X.to_json(tmp_path / "x.jsonl", orient="records", lines=True, double_precision=15)
    table = pa.Table.from_pandas(X, preserve_index=False)
    with pa.OSFile(str(tmp_path / "x.arrow"), "wb") as f, pa.ipc.new_file(f, table.schema) as w:
        w.write_table(table)
    with pa.OSFile(str(tmp_path / "x.arrows"), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)
    pq.write_table(table, tmp_path / "x.parquet")
    (tmp_path / "x.data").write_bytes((tmp_path / "x.csv").read_bytes())
    for name, fmt in (("x.csv", None), ("x.json", None), ("x.jsonl", None), ("x.arrow", None), ("x.arrows", None),
                      ("x.parquet", None), ("x.data", "csv")):
        out = breast_cancer_pipeline.infer_from_file(tmp_path / name, format=fmt)
        assert len(out) == 150, name
        np.testing.assert_allclose(_stack(out["out.probabilities"]), want, atol=1e-6, err_msg=name)
    # An Arrow table goes straight in as well.
    np.testing.assert_array_equal(_stack(breast_cancer_pipeline.infer(table)["out.probabilities"]), want)
    with pytest.raises(ValueError, match="cannot tell the format"):
        breast_cancer_pipeline.infer_from_file(tmp_path / "x.data")


def test_logs_paging_ranges_metadata_export(client: bettong.Client, trained, unique: str, tmp_path) -> None:
    model = client.upload_model(f"logs-{unique}", trained.onnx_bytes)
    p = client.build_pipeline(f"logs-{unique}").add_model_step(model).deploy()
    assert len(p.logs()) == 0 and list(p.logs().columns) == ["time"]
    first = p.infer(trained.X.head(30), metadata={"experiment": "a"})
    time.sleep(0.01)
    mid = int(time.time() * 1000)
    time.sleep(0.01)
    second = p.infer(trained.X.iloc[30:280], metadata={"experiment": "b"})

    newest = p.logs()  # default limit 100, newest first
    assert len(newest) == 100
    assert newest["time"].is_monotonic_decreasing
    assert (newest["metadata.experiment"] == "b").all()
    assert len(p.logs(limit=None)) == 280
    assert len(p.logs(limit=260)) == 260

    before = p.logs(end=mid, limit=None)
    assert len(before) == 30 and (before["metadata.experiment"] == "a").all()
    np.testing.assert_array_equal(_stack(before["in.X"]), trained.X.head(30).to_numpy(np.float32))
    np.testing.assert_array_equal(before["time"].to_numpy(), first["time"].to_numpy())
    after = p.logs(start=dt.datetime.fromtimestamp(mid / 1000), limit=None)
    assert len(after) == 250 and after["time"].is_monotonic_increasing
    np.testing.assert_array_equal(_stack(after["out.probabilities"]), _stack(second["out.probabilities"]))
    iso = pd.Timestamp(mid, unit="ms", tz="UTC").isoformat()
    assert len(p.logs(start=iso, limit=None)) == 250

    n = p.export_logs(tmp_path / "logs.jsonl")
    lines = (tmp_path / "logs.jsonl").read_text().splitlines()
    assert n == len(lines) == 280
    assert json.loads(lines[0])["metadata.experiment"] == "a"
    p.undeploy()


def test_time_params() -> None:
    assert time_param(None) is None
    assert time_param(1_700_000_000_123) == "1700000000123"
    assert time_param("2024-01-02T03:04:05Z") == "2024-01-02T03:04:05Z"
    utc = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    assert time_param(utc) == "1704164645678"
    assert time_param(pd.Timestamp(utc)) == "1704164645678"
    assert time_param(np.datetime64("2024-01-02T03:04:05.678")) == "1704164645678"
    naive = dt.datetime(2024, 1, 2, 3, 4, 5)
    assert time_param(naive) == str(int(naive.timestamp() * 1000))  # naive: local time
    with pytest.raises(TypeError):
        time_param(True)  # type: ignore[arg-type]
