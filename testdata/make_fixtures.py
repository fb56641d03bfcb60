#!/usr/bin/env python3
"""Generate the ONNX test fixtures under testdata/models/.

Run from the repository root:

    .venv/bin/python testdata/make_fixtures.py

Deterministic: every estimator uses random_state=0, training data comes from
scikit-learn's bundled datasets (no downloads), and each expected-output file
is computed by running the exported .onnx file with Python onnxruntime.
"""

import json
import os
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
IR_VERSION = 8  # ONNX 1.10+, opset 17; loads in onnxruntime >= 1.13
N_SAMPLE_ROWS = 5

# numpy dtype -> OIP / KServe v2 datatype name
NP_TO_OIP = {
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.int8): "INT8",
    np.dtype(np.int16): "INT16",
    np.dtype(np.int32): "INT32",
    np.dtype(np.int64): "INT64",
    np.dtype(np.uint8): "UINT8",
    np.dtype(np.uint16): "UINT16",
    np.dtype(np.uint32): "UINT32",
    np.dtype(np.uint64): "UINT64",
    np.dtype(np.float16): "FP16",
    np.dtype(np.float32): "FP32",
    np.dtype(np.float64): "FP64",
}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def oip_datatype(arr):
    if arr.dtype.kind in ("U", "S", "O"):
        return "BYTES"
    return NP_TO_OIP[arr.dtype]


def to_json_data(arr):
    """Flat row-major list of JSON-able Python values."""
    flat = np.asarray(arr).reshape(-1)
    kind = flat.dtype.kind
    if kind == "b":
        return [bool(v) for v in flat]
    if kind in ("i", "u"):
        return [int(v) for v in flat]
    if kind == "f":
        # float() of a float16/float32 value is exact; repr round-trips it.
        return [float(v) for v in flat]
    if kind in ("U", "S", "O"):
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in flat]
    raise TypeError(f"unsupported dtype {flat.dtype}")


def tensor_entry(arr):
    arr = np.asarray(arr)
    return {
        "datatype": oip_datatype(arr),
        "shape": [int(d) for d in arr.shape],
        "data": to_json_data(arr),
    }


def write_json(path, obj):
    """JSON with indentation for structure but each tensor's data on one line."""
    def render(value, indent):
        pad = " " * indent
        if isinstance(value, dict):
            if not value:
                return "{}"
            items = []
            for k, v in value.items():
                if k in ("data", "shape"):
                    rendered = json.dumps(v, ensure_ascii=False)
                else:
                    rendered = render(v, indent + 2)
                items.append(f'{pad}  {json.dumps(k)}: {rendered}')
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        return json.dumps(value, ensure_ascii=False)

    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(render(obj, 0))
        f.write("\n")


def save_model(model, name):
    path = os.path.join(OUT_DIR, name)
    # skl2onnx emits opset_import in set order (varies with PYTHONHASHSEED);
    # sort it so reruns produce byte-identical files.
    opsets = sorted(((o.domain, o.version) for o in model.opset_import))
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in opsets)
    onnx.checker.check_model(model)
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    return path


def export_sklearn(estimator, n_features, name, zipmap=True):
    # zipmap=False is a classifier-only option (plain label/probabilities tensors).
    options = None if zipmap else {id(estimator): {"zipmap": False}}
    model = convert_sklearn(
        estimator,
        name=os.path.splitext(name)[0],
        initial_types=[("input", FloatTensorType([None, n_features]))],
        target_opset=TARGET_OPSET,
        options=options,
    )
    model.ir_version = min(model.ir_version, IR_VERSION)
    return save_model(model, name)


def run(path, feeds):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    results = sess.run(names, feeds)
    return dict(zip(names, results))


def write_expected(model_name, feeds, outputs, **extra):
    obj = {"model": model_name}
    obj.update(extra)
    obj["inputs"] = {k: tensor_entry(v) for k, v in feeds.items()}
    obj["outputs"] = {k: tensor_entry(v) for k, v in outputs.items()}
    base = os.path.splitext(model_name)[0]
    write_json(os.path.join(OUT_DIR, base + ".expected.json"), obj)


def sklearn_fixture(estimator, n_features, name, X, zipmap=True):
    path = export_sklearn(estimator, n_features, name, zipmap=zipmap)
    feeds = {"input": X[:N_SAMPLE_ROWS].astype(np.float32)}
    outputs = run(path, feeds)
    check_against_sklearn(estimator, feeds["input"], outputs)
    write_expected(name, feeds, outputs)
    return outputs


def check_against_sklearn(estimator, X, outputs):
    """Sanity check: the ONNX export agrees with scikit-learn itself."""
    if "label" in outputs:
        assert np.array_equal(outputs["label"], estimator.predict(X))
        np.testing.assert_allclose(
            outputs["probabilities"], estimator.predict_proba(X), rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_allclose(
            outputs["variable"].ravel(), estimator.predict(X), rtol=1e-4, atol=1e-3)


# --------------------------------------------------------------------------
# scikit-learn models
# --------------------------------------------------------------------------

def make_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = Pipeline([
        ("scaler", StandardScaler()),
        ("clf", LogisticRegression(max_iter=1000, random_state=0)),
    ])
    pipe.fit(X, y)
    sklearn_fixture(pipe, 30, "breast_cancer_logreg.onnx", X, zipmap=False)

    # Same model, skl2onnx defaults: output_probability is seq(map(int64, float)).
    path = export_sklearn(pipe, 30, "breast_cancer_logreg_zipmap.onnx", zipmap=True)
    ort.InferenceSession(path, providers=["CPUExecutionProvider"])  # must load


def make_diabetes():
    X, y = load_diabetes(return_X_y=True)
    gbr = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=0)
    gbr.fit(X, y)
    sklearn_fixture(gbr, 10, "diabetes_gbr.onnx", X)  # regressor: no zipmap option


def make_digits():
    X, y = load_digits(return_X_y=True)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    sklearn_fixture(mlp, 64, "digits_mlp.onnx", X, zipmap=False)


def make_chain():
    X, y = load_breast_cancer(return_X_y=True)
    scaler = StandardScaler().fit(X)
    clf = LogisticRegression(max_iter=1000, random_state=0).fit(scaler.transform(X), y)

    scaler_path = export_sklearn(scaler, 30, "breast_cancer_scaler.onnx")
    clf_path = export_sklearn(clf, 30, "breast_cancer_logreg_scaled.onnx", zipmap=False)

    feeds = {"input": X[:N_SAMPLE_ROWS].astype(np.float32)}
    scaled = run(scaler_path, feeds)
    outputs = run(clf_path, {"input": scaled["variable"]})
    np.testing.assert_allclose(
        scaled["variable"], scaler.transform(feeds["input"]), rtol=1e-4, atol=1e-4)
    check_against_sklearn(clf, scaler.transform(feeds["input"]), outputs)
    write_expected(
        "breast_cancer_chain",
        feeds,
        outputs,
        models=["breast_cancer_scaler.onnx", "breast_cancer_logreg_scaled.onnx"],
        intermediate={k: tensor_entry(v) for k, v in scaled.items()},
    )


# --------------------------------------------------------------------------
# hand-built graphs
# --------------------------------------------------------------------------

ALL_TYPES = [
    # (suffix, onnx elem type, numpy sample [3, 2])
    ("bool", TensorProto.BOOL,
     np.array([[True, False], [False, True], [True, True]], dtype=np.bool_)),
    ("int8", TensorProto.INT8,
     np.array([[-128, 127], [-1, 0], [5, -7]], dtype=np.int8)),
    ("int16", TensorProto.INT16,
     np.array([[-32768, 32767], [-1, 0], [300, -300]], dtype=np.int16)),
    ("int32", TensorProto.INT32,
     np.array([[-2147483648, 2147483647], [-1, 0], [70000, -70000]], dtype=np.int32)),
    ("int64", TensorProto.INT64,
     np.array([[-(2 ** 40), 2 ** 40], [-1, 0], [2 ** 53 - 1, -(2 ** 53 - 1)]], dtype=np.int64)),
    ("uint8", TensorProto.UINT8,
     np.array([[0, 255], [1, 128], [42, 7]], dtype=np.uint8)),
    ("uint16", TensorProto.UINT16,
     np.array([[0, 65535], [1, 32768], [300, 7]], dtype=np.uint16)),
    ("uint32", TensorProto.UINT32,
     np.array([[0, 4294967295], [1, 2147483648], [70000, 7]], dtype=np.uint32)),
    ("uint64", TensorProto.UINT64,
     np.array([[0, 2 ** 40], [1, 2 ** 53 - 1], [4294967296, 7]], dtype=np.uint64)),
    ("float16", TensorProto.FLOAT16,
     np.array([[0.5, -1.25], [0.0, 65504.0], [0.1, -2.0]], dtype=np.float16)),
    ("float32", TensorProto.FLOAT,
     np.array([[0.5, -1.25], [0.0, 3.4e38], [0.1, -1e-7]], dtype=np.float32)),
    ("float64", TensorProto.DOUBLE,
     np.array([[0.5, -1.25], [0.0, 1e300], [0.1, -1e-300]], dtype=np.float64)),
    ("string", TensorProto.STRING,
     np.array([["a", "héllo"], ["", "with space"], ["日本", "z"]], dtype=object)),
]


def finish_model(graph, name):
    model = helper.make_model(
        graph,
        producer_name="bettong-testdata",
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = IR_VERSION
    return save_model(model, name)


def make_all_types():
    inputs, outputs, nodes = [], [], []
    for suffix, elem, _ in ALL_TYPES:
        inputs.append(helper.make_tensor_value_info(f"in_{suffix}", elem, ["N", 2]))
        outputs.append(helper.make_tensor_value_info(f"out_{suffix}", elem, ["N", 2]))
        nodes.append(helper.make_node(
            "Identity", [f"in_{suffix}"], [f"out_{suffix}"], name=f"identity_{suffix}"))
    graph = helper.make_graph(nodes, "all_types_identity", inputs, outputs)
    path = finish_model(graph, "all_types_identity.onnx")

    feeds = {f"in_{suffix}": sample for suffix, _, sample in ALL_TYPES}
    results = run(path, feeds)
    for suffix, _, sample in ALL_TYPES:
        assert np.array_equal(results[f"out_{suffix}"], sample), suffix
    write_expected("all_types_identity.onnx", feeds, results)


def make_add_mul():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 3])
    s = helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["N", 3])
    p = helper.make_tensor_value_info("product", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
        helper.make_node("Mul", ["a", "b"], ["product"], name="mul"),
    ]
    graph = helper.make_graph(nodes, "add_mul", [a, b], [s, p])
    path = finish_model(graph, "add_mul.onnx")

    feeds = {
        "a": np.array([[1.0, 2.0, 3.0], [-1.5, 0.25, 10.0]], dtype=np.float32),
        "b": np.array([[4.0, 5.0, 6.0], [2.0, -4.0, 0.5]], dtype=np.float32),
    }
    results = run(path, feeds)
    write_expected("add_mul.onnx", feeds, results)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    make_breast_cancer()
    make_diabetes()
    make_digits()
    make_chain()
    make_all_types()
    make_add_mul()
    for name in sorted(os.listdir(OUT_DIR)):
        print(f"{os.path.getsize(os.path.join(OUT_DIR, name)):>8}  models/{name}")


if __name__ == "__main__":
    main()
