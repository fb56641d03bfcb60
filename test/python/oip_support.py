"""
What the OIP client suites share: the fixture pipelines, numpy views of expected-file tensors
and the comparison. Imports no client library: tritonclient.grpc and kserve cannot be imported
into one process (both register the same protobuf symbols), so the gRPC suite runs apart.
"""
import numpy as np

ATOL = RTOL = 1e-5

NP_DTYPES = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "BYTES": np.object_,
}

# pipeline -> expected-file name
MODEL_CASES = [
    ("digits", "digits_mlp"),
    ("breast_cancer", "breast_cancer_logreg"),
    ("breast_cancer_chain", "breast_cancer_chain"),
]

ALL_TYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
             "float16", "float32", "float64", "string"]


def to_numpy(spec: dict) -> np.ndarray:
    """An expected-file tensor as the numpy array a client user would build."""
    if spec["datatype"] == "BYTES":
        flat = np.array([s.encode("utf-8") for s in spec["data"]], dtype=np.object_)
    else:
        flat = np.array(spec["data"], dtype=NP_DTYPES[spec["datatype"]])
    return flat.reshape(spec["shape"])


def as_text(arr: np.ndarray) -> list[str]:
    """BYTES come back as bytes (binary) or str (JSON); compare them as text."""
    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in arr.ravel().tolist()]


def assert_matches(actual: np.ndarray, spec: dict, exact: bool = False) -> None:
    assert actual is not None, "output missing from the response"
    assert list(actual.shape) == spec["shape"]
    if spec["datatype"] == "BYTES":
        assert as_text(actual) == spec["data"]
        return
    want = np.array(spec["data"], dtype=NP_DTYPES[spec["datatype"]]).reshape(spec["shape"])
    assert actual.dtype == want.dtype, f"{actual.dtype} != {want.dtype}"
    if exact or spec["datatype"] not in ("FP16", "FP32", "FP64"):
        np.testing.assert_array_equal(actual, want)
    else:
        np.testing.assert_allclose(actual, want, rtol=RTOL, atol=ATOL)
