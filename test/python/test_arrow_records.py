"""
The records route with Apache Arrow IPC, as a pyarrow user sends a DataFrame: a stream or a
file in, the same format back, with time, in.* and out.* columns.
"""
import io

import httpx
import numpy as np
import pyarrow as pa
import pytest

ARROW_STREAM = "application/vnd.apache.arrow.stream"
ARROW_FILE = "application/vnd.apache.arrow.file"


def to_ipc(table: pa.Table, kind: str) -> bytes:
    sink = io.BytesIO()
    writer = pa.ipc.new_stream if kind == "stream" else pa.ipc.new_file
    with writer(sink, table.schema) as w:
        w.write_table(table, max_chunksize=2)  # several record batches
    return sink.getvalue()


def read_ipc(body: bytes, kind: str) -> pa.Table:
    reader = pa.ipc.open_stream if kind == "stream" else pa.ipc.open_file
    return reader(pa.py_buffer(body)).read_all()


@pytest.mark.parametrize("kind", ["stream", "file"])
def test_pyarrow_round_trip_tensor_column(bettong, expected, kind):
    exp = expected("digits_mlp")
    x = np.array(exp["inputs"]["input"]["data"], dtype=np.float32).reshape(5, 64)
    table = pa.table({"input": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 64)})
    content_type = ARROW_STREAM if kind == "stream" else ARROW_FILE
    res = httpx.post(f"{bettong.url}/v1/pipelines/digits/infer", content=to_ipc(table, kind),
                     headers={"content-type": content_type})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == content_type
    out = read_ipc(res.content, kind)
    assert out.column_names == ["time", "in.input", "out.label", "out.probabilities"]
    assert pa.types.is_timestamp(out.schema.field("time").type)
    np.testing.assert_array_equal(np.stack(out["in.input"].to_numpy(zero_copy_only=False)), x)
    assert out["out.label"].to_pylist() == exp["outputs"]["label"]["data"]
    probs = np.stack(out["out.probabilities"].to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(probs.ravel(), exp["outputs"]["probabilities"]["data"], rtol=1e-5, atol=1e-5)


def test_pyarrow_feature_dataframe(bettong, expected):
    """A plain pandas feature frame (float64 columns, a non-default index) is stacked into the model input."""
    pd = pytest.importorskip("pandas")
    exp = expected("breast_cancer_logreg")
    x = np.array(exp["inputs"]["input"]["data"], dtype=np.float64).reshape(5, 30)
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(30)], index=[10, 11, 12, 13, 14])
    table = pa.Table.from_pandas(df)
    res = httpx.post(f"{bettong.url}/v1/pipelines/breast_cancer/infer", content=to_ipc(table, "stream"),
                     headers={"content-type": ARROW_STREAM})
    assert res.status_code == 200, res.text
    result = read_ipc(res.content, "stream").to_pandas()
    assert result["out.label"].tolist() == exp["outputs"]["label"]["data"]


def test_pyarrow_every_datatype(bettong, expected):
    exp = expected("all_types_identity")
    np_types = {"BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
                "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
                "FP16": np.float16, "FP32": np.float32, "FP64": np.float64}
    columns = {}
    for name, t in exp["inputs"].items():
        width = t["shape"][1]
        if t["datatype"] == "BYTES":
            values = pa.array(t["data"], pa.string())
        else:
            values = pa.array(np.array(t["data"], dtype=np_types[t["datatype"]]))
        columns[name] = pa.FixedSizeListArray.from_arrays(values, width)
    res = httpx.post(f"{bettong.url}/v1/pipelines/all_types/infer", content=to_ipc(pa.table(columns), "stream"),
                     headers={"content-type": ARROW_STREAM})
    assert res.status_code == 200, res.text
    out = read_ipc(res.content, "stream")
    for name, t in exp["outputs"].items():
        got = out[f"out.{name}"].combine_chunks().flatten().to_pylist()
        if t["datatype"] == "FP16":
            got = [float(v) for v in got]
        assert got == t["data"], name


def test_arrow_errors_are_json(bettong):
    table = pa.table({"input": pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(63, dtype=np.float32)), 63)})
    res = httpx.post(f"{bettong.url}/v1/pipelines/digits/infer", content=to_ipc(table, "stream"),
                     headers={"content-type": ARROW_STREAM})
    assert res.status_code == 400
    assert res.json()["code"] == "SHAPE_MISMATCH"
    assert "63" in res.json()["error"]
    res = httpx.post(f"{bettong.url}/v1/pipelines/digits/infer", content=b"garbage",
                     headers={"content-type": ARROW_FILE})
    assert res.status_code == 400
    assert "Arrow" in res.json()["error"]
