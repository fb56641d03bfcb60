"""The Python step worker: runs inside the sandbox as its own process.

Loads the model artifact (argv[1]): a fitted scikit-learn estimator or Pipeline (pickle/joblib),
an XGBoost booster (JSON or UBJ) or a LightGBM model file, each served by a built-in adapter
below with its signature from the model's own metadata; or code: a single model.py, or a .zip / .tar.gz holding
model.py and its files, unpacked into the private scratch dir, imported, load() called once.
Says hello with the signature, then answers calls on the channel (fd 3): Arrow IPC inputs -> a pandas DataFrame
(one column per input; tensors as numpy arrays in the cells, or one column per element for an
input declared "flatten" / "columns": InputLayout) -> predict(df) -> a DataFrame or a
dict of numpy arrays -> Arrow IPC. Frames as in src/runtimes/sandbox/channel.ts.
"""
import importlib.util
import inspect
import io
import json
import os
import socket
import struct
import sys
import tarfile
import zipfile

PREDICT, READY, RESULT, ERROR = 1, 2, 3, 4
HEADER = struct.Struct("<IIB")
# The private scratch dir is the working directory (the sandbox's /tmp).
MODEL_DIR = os.path.join(os.getcwd(), "model")

channel = socket.socket(fileno=3)


def send(call_id, kind, payload):
    channel.sendall(HEADER.pack(len(payload), call_id, kind) + payload)


def send_error(call_id, code, message):
    send(call_id, ERROR, json.dumps({"code": code, "message": message}).encode())


def read_exact(n):
    chunks = []
    while n > 0:
        chunk = channel.recv(min(n, 1 << 20))
        if not chunk:
            sys.exit(0)  # the server closed the channel: time to go
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def unpack(artifact, into):
    """The artifact's files under `into`; a single .py becomes model.py. Archive paths stay inside."""
    os.makedirs(into, exist_ok=True)
    with open(artifact, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        with zipfile.ZipFile(artifact) as z:
            z.extractall(into)  # zipfile drops absolute paths and '..'
    elif head.startswith(b"\x1f\x8b"):
        with tarfile.open(artifact, "r:gz") as t:
            safe = [m for m in t.getmembers()
                    if (m.isfile() or m.isdir()) and not m.name.startswith("/") and ".." not in m.name.split("/")]
            t.extractall(into, members=safe)
    else:
        with open(artifact, "rb") as src, open(os.path.join(into, "model.py"), "wb") as dst:
            dst.write(src.read())
    # An archive of a folder: model.py one level down.
    if not os.path.exists(os.path.join(into, "model.py")):
        subdirs = [d for d in os.listdir(into) if os.path.isdir(os.path.join(into, d))]
        if len(subdirs) == 1 and os.path.exists(os.path.join(into, subdirs[0], "model.py")):
            return os.path.join(into, subdirs[0])
        raise RuntimeError("the upload holds no model.py (upload a .py file, or a .zip / .tar.gz with model.py at its top)")
    return into


def load_model(artifact):
    root = unpack(artifact, MODEL_DIR)
    os.chdir(root)  # model.py opens its files by relative path
    sys.path.insert(0, root)
    spec = importlib.util.spec_from_file_location("model", os.path.join(root, "model.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["model"] = module
    spec.loader.exec_module(module)
    predict = getattr(module, "predict", None)
    if not callable(predict):
        raise RuntimeError("model.py defines no predict function: def predict(df): ...")
    state = module.load() if callable(getattr(module, "load", None)) else None
    takes_state = len(inspect.signature(predict).parameters) >= 2
    return getattr(module, "signature", None), (lambda df: predict(df, state)) if takes_state else predict


def kind_of(artifact):
    """What the artifact is, by its first bytes: code, or a framework model for an adapter."""
    with open(artifact, "rb") as f:
        head = f.read(64)
    if head[:1] == b"\x80":
        return "sklearn"  # pickle protocol 2 and later (joblib.dump writes one)
    if head.startswith(b"tree\nversion="):
        return "lightgbm"
    if head.lstrip()[:1] == b"{":
        try:
            with open(artifact, "rb") as f:
                doc = json.load(f)
            if isinstance(doc, dict) and "learner" in doc:
                return "xgboost-json"
        except ValueError:
            return "xgboost-ubj"  # universal binary JSON, also opening with '{'
    return "code"


def feature_inputs(names, width, datatype):
    """One column per named feature, else one tensor 'input' [-1, width]; and how to get X from df."""
    if names:
        return ([{"name": c, "datatype": datatype, "shape": [-1]} for c in names],
                lambda df: df[names].to_numpy(dtype=NUMPY[datatype]))
    return ([{"name": "input", "datatype": datatype, "shape": [-1, int(width)]}],
            lambda df: np.stack(df["input"].to_numpy()).astype(NUMPY[datatype]))


def load_xgboost(artifact, fmt):
    """An XGBoost booster: 'prediction' as booster.predict gives it ([-1, classes] for multi:softprob)."""
    import shutil

    import xgboost as xgb

    local = os.path.join(os.getcwd(), f"model.{fmt}")  # XGBoost tells JSON from UBJ by the file's suffix
    shutil.copyfile(artifact, local)
    booster = xgb.Booster()
    booster.load_model(local)
    names = booster.feature_names
    inputs, features = feature_inputs(names, booster.num_features(), "FP32")
    learner = json.loads(booster.save_config())["learner"]
    classes = int(learner["learner_model_param"].get("num_class", "0") or 0)
    shape = [-1, classes] if learner["objective"]["name"] == "multi:softprob" and classes > 1 else [-1]

    def predict(df):
        return {"prediction": booster.predict(xgb.DMatrix(features(df), feature_names=names))}

    return {"inputs": inputs, "outputs": [{"name": "prediction", "datatype": "FP32", "shape": shape}]}, predict


def load_lightgbm(artifact):
    """A LightGBM model file: 'prediction' as booster.predict gives it ([-1, classes] for multiclass)."""
    import lightgbm as lgb

    booster = lgb.Booster(model_file=artifact)
    names = booster.feature_name()
    if all(n == f"Column_{i}" for i, n in enumerate(names)):
        names = None  # trained on an array: LightGBM made the names up
    inputs, features = feature_inputs(names, booster.num_feature(), "FP64")
    classes = booster.num_model_per_iteration()
    shape = [-1, classes] if classes > 1 else [-1]

    def predict(df):
        return {"prediction": booster.predict(features(df))}

    return {"inputs": inputs, "outputs": [{"name": "prediction", "datatype": "FP64", "shape": shape}]}, predict


def load_artifact(artifact):
    kind = kind_of(artifact)
    if kind == "sklearn":
        return load_estimator(artifact)
    if kind == "lightgbm":
        return load_lightgbm(artifact)
    if kind.startswith("xgboost"):
        return load_xgboost(artifact, kind.split("-")[1])
    return load_model(artifact)


def datatype_of(dtype):
    if dtype.kind in "iu":
        return "INT64"
    if dtype.kind == "b":
        return "BOOL"
    if dtype.kind == "f":
        return "FP64"
    return "BYTES"


ARGMAX_CLASSIFIERS = {
    "LogisticRegression", "MLPClassifier", "RandomForestClassifier", "ExtraTreesClassifier",
    "DecisionTreeClassifier", "ExtraTreeClassifier",
}


def load_estimator(artifact):
    """A fitted scikit-learn estimator or Pipeline: signature from its own metadata.

    Inputs: one FP64 column per feature when it was fitted on a DataFrame (feature_names_in_),
    else one FP64 tensor 'input' [-1, n_features_in_]. Outputs: 'label' (predict) and, when it
    has predict_proba, 'probabilities' [-1, n_classes] for a classifier; 'prediction' for a regressor.
    """
    import joblib

    est = joblib.load(artifact)
    if not callable(getattr(est, "predict", None)):
        raise RuntimeError(f"the pickle holds a {type(est).__name__}, which has no predict method: upload a fitted scikit-learn estimator or Pipeline")
    names = getattr(est, "feature_names_in_", None)
    width = getattr(est, "n_features_in_", None)
    if names is not None:
        names = [str(c) for c in names]
        inputs = [{"name": c, "datatype": "FP64", "shape": [-1]} for c in names]
    elif width:
        inputs = [{"name": "input", "datatype": "FP64", "shape": [-1, int(width)]}]
    else:
        raise RuntimeError(f"cannot tell the inputs of the {type(est).__name__}: it has no n_features_in_ (is it fitted?)")
    classes = getattr(est, "classes_", None)
    proba = classes is not None and hasattr(est, "predict_proba")
    if classes is not None:
        outputs = [{"name": "label", "datatype": datatype_of(np.asarray(classes).dtype), "shape": [-1]}]
        if proba:
            outputs.append({"name": "probabilities", "datatype": "FP64", "shape": [-1, len(classes)]})
    else:
        targets = int(getattr(est, "n_outputs_", 1) or 1)
        outputs = [{"name": "prediction", "datatype": "FP64", "shape": [-1] if targets == 1 else [-1, targets]}]
    first = outputs[0]["name"]
    # Classifiers whose predict is, in scikit-learn's own code, the class of the largest
    # predict_proba (or a monotonic function of the same scores): one pass gives both outputs.
    one_pass = proba and type(est.steps[-1][1] if hasattr(est, "steps") else est).__name__ in ARGMAX_CLASSIFIERS
    classes_array = np.asarray(classes) if classes is not None else None

    def predict(df):
        X = df[names] if names is not None else np.stack(df["input"].to_numpy())
        if one_pass:
            p = est.predict_proba(X)
            return {first: classes_array.take(np.argmax(p, axis=1)), "probabilities": p}
        out = {first: est.predict(X)}
        if proba:
            out["probabilities"] = est.predict_proba(X)
        return out

    return {"inputs": inputs, "outputs": outputs}, predict


# ------------------------------------------------------------------ Arrow <-> pandas / numpy

import numpy as np  # noqa: E402  (a missing package stops the worker; its traceback goes to the server log)
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

NUMPY = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
}


class InputLayout:
    """How the inputs become DataFrame columns, fixed at load from the signature.

    An input is one column, a tensor input's cells numpy arrays of the row's shape; an input
    declared {"flatten": true} becomes one scalar column per element, `<name>_0 .. <name>_<n-1>`
    in row-major order, or named by its {"columns": [...]} list.
    """

    def __init__(self, signature):
        self.flattened = {}
        specs = signature.get("inputs", []) if isinstance(signature, dict) else []
        seen = set()
        for spec in specs:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                continue  # the server refuses the signature, naming what is wrong
            name, columns = spec["name"], spec.get("columns")
            if spec.get("flatten") or columns is not None:
                shape = spec.get("shape", [-1])
                dims = shape[1:] if isinstance(shape, list) else []
                if not dims or not all(isinstance(d, int) and d > 0 for d in dims):
                    raise ValueError(f"signature input '{name}' is flattened, so its shape needs every size after the rows, like [-1, 4] (it has {shape})")
                width = int(np.prod(dims))
                if columns is None:
                    columns = [f"{name}_{i}" for i in range(width)]
                elif not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns) or len(columns) != width:
                    raise ValueError(f"signature input '{name}': 'columns' must list {width} column names, one per element of its shape {shape}")
                self.flattened[name] = columns
            else:
                columns = [name]
            for c in columns:
                if c in seen:
                    raise ValueError(f"signature input '{name}': the DataFrame column '{c}' would appear twice")
                seen.add(c)
        self.indexes = {}

    def frame(self, payload):
        """The Arrow IPC batch as the DataFrame predict receives."""
        table = pa.ipc.open_stream(payload).read_all()
        rows = table.num_rows
        names, arrays = [], []
        for name, column in zip(table.column_names, table.columns):
            values, shape = leaf_values(column)
            columns = self.flattened.get(name)
            if columns is not None:
                grid = values.reshape(rows, -1)
                names.extend(columns)
                arrays.extend(grid[:, j].copy() for j in range(grid.shape[1]))
            elif shape:
                grid = values.reshape(rows, *shape)
                cells = np.empty(rows, dtype=object)
                for i in range(rows):
                    cells[i] = grid[i]
                names.append(name)
                arrays.append(cells)
            else:
                names.append(name)
                arrays.append(values)
        return self.dataframe(tuple(names), arrays, rows)

    def dataframe(self, names, arrays, rows):
        # pandas' own constructors re-check and re-infer every column (a tenth of a millisecond
        # per call on one row): the arrays are already the columns, and the column index is the
        # same every call.
        columns = self.indexes.get(names)
        if columns is None:
            columns = self.indexes[names] = pd.Index(list(names), dtype=object)
        if FROM_ARRAYS is not None:
            return FROM_ARRAYS(arrays, columns=columns, index=pd.RangeIndex(rows), verify_integrity=False)
        return pd.DataFrame(dict(zip(names, arrays)), columns=columns)


# Private in pandas, present from 0.23 to 3.x; the public constructor where a model's own environment lacks it.
FROM_ARRAYS = getattr(pd.DataFrame, "_from_arrays", None)


def leaf_values(column):
    """A column as a writable flat numpy array of its elements, and the row shape (nested fixed-size lists)."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    shape = []
    while pa.types.is_fixed_size_list(array.type):
        shape.append(array.type.list_size)
        array = array.flatten()
    return array.to_numpy(zero_copy_only=False, writable=True), shape


def column_values(out, name, rows):
    """One output as a numpy array [rows, ...] (array cells stacked)."""
    if isinstance(out, pd.DataFrame):
        if name not in out.columns:
            raise ValueError(f"returned a malformed batch: the DataFrame has no column '{name}'")
        values = out[name].to_numpy()
    elif isinstance(out, dict):
        if name not in out:
            raise ValueError(f"returned a malformed batch: the dict has no key '{name}'")
        values = out[name]
    else:
        raise ValueError(f"returned a malformed batch: predict must return a DataFrame or a dict of arrays, not {type(out).__name__}")
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype == object and len(values) and isinstance(values[0], (np.ndarray, list)):
        values = np.stack([np.asarray(v) for v in values])
    values = np.asarray(values)
    if values.ndim == 0 or len(values) != rows:
        got = 1 if values.ndim == 0 else len(values)
        raise ValueError(f"returned a malformed batch: output '{name}' has {got} rows, expected {rows}")
    return values


def to_arrow(values, datatype):
    """A [rows, ...] array as an Arrow column: nested fixed-size lists for the dimensions after rows."""
    if datatype == "BYTES":
        flat = pa.array([v.decode() if isinstance(v, bytes) else str(v) for v in values.reshape(-1)], pa.string())
    else:
        flat = pa.array(values.astype(NUMPY[datatype], copy=False).reshape(-1))
    column = flat
    for size in reversed(values.shape[1:]):
        column = pa.FixedSizeListArray.from_arrays(column, size)
    return column


def answer(predict, layout, outputs, payload):
    df = layout.frame(payload)
    out = predict(df)
    columns = {}
    for spec in outputs:
        try:
            columns[spec["name"]] = to_arrow(column_values(out, spec["name"], len(df)), spec["datatype"])
        except ValueError as e:
            message = str(e)
            raise MalformedOutput(message if message.startswith("returned a malformed batch") else f"returned a malformed batch: output '{spec['name']}': {message}")
    sink = io.BytesIO()
    table = pa.table(columns)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


class MalformedOutput(Exception):
    pass


def describe(e):
    return f"{type(e).__name__}: {e}"


def requirements_of(artifact):
    """The requirements.txt beside model.py in an archive, if any (read before its environment exists)."""
    if kind_of(artifact) != "code":
        return None
    root = unpack(artifact, MODEL_DIR)
    path = os.path.join(root, "requirements.txt")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


def main():
    args = sys.argv[1:]
    artifact = args[0]
    if "--site" in args:  # the model's own environment (its requirements.txt), before the base one
        sys.path.insert(0, args[args.index("--site") + 1])
    if "--requirements" in args:
        try:
            send(0, READY, json.dumps({"requirements": requirements_of(artifact)}).encode())
        except BaseException as e:  # noqa: BLE001
            send_error(0, "STEP_FAILED", describe(e))
        return
    try:
        signature, predict = load_artifact(artifact)
        layout = InputLayout(signature)
        send(0, READY, json.dumps({"signature": signature}).encode())
    except MemoryError:
        send_error(0, "STEP_OUT_OF_MEMORY", "ran out of memory while loading")
        return
    except BaseException as e:  # noqa: BLE001  (whatever model.py raises is the reason it cannot load)
        send_error(0, "STEP_FAILED", describe(e))
        return
    outputs = [o for o in signature["outputs"] if isinstance(o, dict)] if isinstance(signature, dict) else []
    while True:
        length, call_id, kind = HEADER.unpack(read_exact(HEADER.size))
        payload = read_exact(length)
        if kind != PREDICT:
            continue
        try:
            send(call_id, RESULT, answer(predict, layout, outputs, payload))
        except MemoryError:
            send_error(call_id, "STEP_OUT_OF_MEMORY", "ran out of memory (MemoryError)")
        except MalformedOutput as e:
            send_error(call_id, "STEP_FAILED", str(e))
        except Exception as e:  # noqa: BLE001
            send_error(call_id, "STEP_FAILED", f"threw: {describe(e)}")


if __name__ == "__main__":
    main()
