"""
DataFrames and numpy arrays <-> tensors shaped by a pipeline's signature, and the Open
Inference Protocol's binary tensor data extension (a JSON header, then raw little-endian
bytes; BYTES elements each prefixed by a 4-byte little-endian length).

Conversion is checked here, before anything is sent: a missing column or text where the
pipeline wants numbers raises :class:`~bettong.errors.InvalidInput` with the server's codes.
"""
from __future__ import annotations

import json
import numbers
import struct
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .errors import InvalidInput
from .resources import NUMPY_DTYPES, TensorSpec

Tensors = dict[str, np.ndarray]

_INT_KINDS = "iu"
_MAX_SAFE_JSON_INT = 2**53


def _fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _bad_value(values: np.ndarray, ok: Callable[[Any], bool]) -> Optional[tuple[int, Any]]:
    """The first (flat index, value) that fails ``ok``, or None."""
    flat = values.reshape(-1)
    for i, v in enumerate(flat):
        if not ok(v):
            return i, v
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_)) or v is None or v is pd.NA


def _where(source: str, rows: int, flat_index: int, row_size: int) -> str:
    if rows <= 0 or row_size <= 0:
        return source
    return f"{source}, row {flat_index // row_size}"


def cast(values: np.ndarray, spec: TensorSpec, source: str) -> np.ndarray:
    """Casts an array to the datatype of ``spec``, refusing values that do not fit.

    ``source`` names where the values came from (a column, a dict key) for the error message.
    """
    dt = spec.datatype
    target = spec.numpy_dtype
    arr = values
    rows = arr.shape[0] if arr.ndim > 0 else 0
    row_size = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1

    def refuse(what: str, flat_index: Optional[int] = None) -> InvalidInput:
        where = source if flat_index is None else _where(source, rows, flat_index, row_size)
        return InvalidInput(f"{where}: {what}; input '{spec.name}' is {dt}", "INVALID_TENSOR")

    if dt == "BYTES":
        if arr.dtype.kind in "US":
            return arr.astype(object)
        if arr.dtype.kind == "O":
            bad = _bad_value(arr, lambda v: isinstance(v, (str, bytes)))
            if bad is not None:
                raise refuse(f"holds {bad[1]!r}, not text", bad[0])
            return arr
        raise refuse(f"holds {arr.dtype} values, not text")

    if arr.dtype.kind in "US":
        bad = _bad_value(arr, lambda v: False)
        raise refuse(f"holds {bad[1]!r} (text), not a number" if bad else "holds text, not numbers", bad[0] if bad else None)

    if arr.dtype.kind == "O":
        bad = _bad_value(arr, lambda v: _is_number(v) or isinstance(v, (bool, np.bool_)))
        if bad is not None:
            kind = "text" if isinstance(bad[1], (str, bytes)) else type(bad[1]).__name__
            raise refuse(f"holds {bad[1]!r} ({kind}), not a number", bad[0])
        flat = [np.nan if (v is None or v is pd.NA) else v for v in arr.reshape(-1)]
        if dt == "BOOL" and all(isinstance(v, (bool, np.bool_)) for v in flat):
            arr = np.asarray(flat, dtype=np.bool_).reshape(arr.shape)
        elif target.kind in _INT_KINDS and all(isinstance(v, (numbers.Integral, np.integer)) for v in flat):
            arr = np.asarray([int(v) for v in flat], dtype=object).reshape(arr.shape)
            lo, hi = np.iinfo(target).min, np.iinfo(target).max
            bad = _bad_value(arr, lambda v: lo <= v <= hi)
            if bad is not None:
                raise refuse(f"holds {bad[1]}, out of range", bad[0])
            return arr.astype(target)
        else:
            arr = np.asarray(flat, dtype=np.float64).reshape(arr.shape)

    kind = arr.dtype.kind
    if dt == "BOOL":
        if kind == "b":
            return arr.astype(np.bool_, copy=False)
        bad = _bad_value(arr, lambda v: v == 0 or v == 1)
        if bad is not None:
            raise refuse(f"holds {bad[1]!r}, not a boolean", bad[0])
        return arr.astype(np.bool_)
    if target.kind in _INT_KINDS:
        if kind == "f":
            finite_int = np.isfinite(arr) & (np.floor(arr) == arr)
            if not finite_int.all():
                i = int(np.argmin(finite_int.reshape(-1)))
                raise refuse(f"holds {arr.reshape(-1)[i]!r}, not an integer", i)
        if kind in "iuf":
            info = np.iinfo(target)
            if arr.size and (arr.min() < info.min or arr.max() > info.max):
                i = int(np.argmax((arr < info.min) | (arr > info.max)))
                raise refuse(f"holds {arr.reshape(-1)[i]!r}, out of range", i)
        return arr.astype(target)
    if kind in "biuf":
        return arr.astype(target, copy=False)
    raise refuse(f"holds {arr.dtype} values, not numbers")


def _column_array(col: pd.Series, name: str) -> np.ndarray:
    """A DataFrame column as an array: (rows,) for scalars, (rows, ...) for array-valued cells."""
    if isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and not isinstance(col.dtype, pd.CategoricalDtype):
        if pd.api.types.is_float_dtype(col.dtype):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_integer_dtype(col.dtype):
            if col.isna().any():
                i = int(np.argmax(col.isna().to_numpy()))
                raise InvalidInput(f"column '{name}', row {i}: missing value", "INVALID_TENSOR")
            return col.to_numpy(dtype=getattr(col.dtype, "numpy_dtype", None))
        return col.to_numpy(dtype=object)
    values = col.to_numpy()
    if values.dtype != object or len(values) == 0:
        return values
    first = values[0]
    if not isinstance(first, (list, tuple, np.ndarray)):
        return values
    cells = []
    shape = None
    for i, cell in enumerate(values):
        if not isinstance(cell, (list, tuple, np.ndarray)):
            raise InvalidInput(f"column '{name}', row {i}: holds {cell!r}; row 0 holds an array", "SHAPE_MISMATCH")
        a = np.asarray(cell)
        if a.dtype == object and a.ndim > 0 and len(a) and isinstance(a.reshape(-1)[0], (list, np.ndarray)):
            a = np.asarray(a.tolist())
        if shape is None:
            shape = a.shape
        elif a.shape != shape:
            raise InvalidInput(
                f"column '{name}', row {i}: an array of shape {_fmt_shape(a.shape)}; row 0 has {_fmt_shape(shape)}",
                "SHAPE_MISMATCH",
            )
        cells.append(a)
    return np.stack(cells)


def _fit_shape(arr: np.ndarray, spec: TensorSpec, source: str) -> np.ndarray:
    """Gives rows the signature's row shape when the element counts agree, then checks the shape."""
    row = spec.row_shape
    if spec.batched and row and all(d >= 0 for d in row) and arr.ndim >= 1:
        if int(np.prod(arr.shape[1:], dtype=np.int64)) == int(np.prod(row, dtype=np.int64)) and arr.shape[1:] != row:
            arr = arr.reshape((arr.shape[0],) + row)
    bad = arr.ndim != len(spec.shape) or any(d >= 0 and d != a for d, a in zip(spec.shape, arr.shape))
    if bad:
        raise InvalidInput(
            f"{source}: shape {_fmt_shape(arr.shape)}; input '{spec.name}' expects {_fmt_shape(spec.shape)} (-1: any size)",
            "SHAPE_MISMATCH",
        )
    return arr


def _strip_in(name: str) -> str:
    return name[3:] if isinstance(name, str) and name.startswith("in.") else name


def tensors_from_frame(df: pd.DataFrame, inputs: Sequence[TensorSpec], pipeline: str) -> Tensors:
    """The pipeline's input tensors from a DataFrame.

    Columns named after the inputs (or ``in.<input>``, as in results and logs) hold scalars
    or arrays. When the pipeline has one input and no column names it, every column is a
    feature and the columns are stacked, in order, into that input.
    """
    if len(df) == 0:
        raise InvalidInput("the DataFrame has no rows", "INVALID_REQUEST")
    by_name = {_strip_in(str(c)): c for c in df.columns}
    names = [s.name for s in inputs]
    if len(inputs) == 1 and names[0] not in by_name:
        return {names[0]: _stack_features(df, inputs[0])}
    unknown = [str(c) for n, c in by_name.items() if n not in names]
    if unknown:
        raise InvalidInput(
            f"unknown column '{unknown[0]}'; the inputs of pipeline '{pipeline}' are: {', '.join(names)}", "UNKNOWN_INPUT"
        )
    out: Tensors = {}
    for spec in inputs:
        if spec.name not in by_name:
            raise InvalidInput(
                f"the DataFrame has no column '{spec.name}'; pipeline '{pipeline}' needs: {', '.join(names)}", "MISSING_INPUT"
            )
        col = by_name[spec.name]
        source = f"column '{col}'"
        arr = _column_array(df[col], str(col))
        out[spec.name] = _fit_shape(cast(arr, spec, source), spec, source)
    return out


def _stack_features(df: pd.DataFrame, spec: TensorSpec) -> np.ndarray:
    width = spec.shape[1] if len(spec.shape) == 2 else -1
    if width >= 0 and df.shape[1] != width:
        raise InvalidInput(
            f"the DataFrame has no column '{spec.name}' and its {df.shape[1]} columns do not match "
            f"the {width} features of input '{spec.name}' {_fmt_shape(spec.shape)}",
            "MISSING_INPUT",
        )
    cols = []
    for c in df.columns:
        arr = _column_array(df[c], str(c))
        if arr.ndim != 1:
            raise InvalidInput(
                f"column '{c}' holds arrays; to stack feature columns into input '{spec.name}' every column "
                f"must hold scalars (or name the column '{spec.name}')",
                "SHAPE_MISMATCH",
            )
        cols.append(cast(arr, spec, f"column '{c}'"))
    stacked = np.column_stack(cols) if cols else np.empty((len(df), 0), dtype=spec.numpy_dtype)
    return _fit_shape(stacked, spec, f"the DataFrame's {len(cols)} feature columns")


def tensors_from_dict(data: Mapping[str, Any], inputs: Sequence[TensorSpec], pipeline: str) -> Tensors:
    """The pipeline's input tensors from a dict of input name -> array-like."""
    names = [s.name for s in inputs]
    given = {_strip_in(str(k)): v for k, v in data.items()}
    for k in given:
        if k not in names:
            raise InvalidInput(f"pipeline '{pipeline}' has no input '{k}'; its inputs are: {', '.join(names)}", "UNKNOWN_INPUT")
    out: Tensors = {}
    for spec in inputs:
        if spec.name not in given:
            raise InvalidInput(f"missing input '{spec.name}'; pipeline '{pipeline}' needs: {', '.join(names)}", "MISSING_INPUT")
        value = given[spec.name]
        arr = value.to_numpy() if isinstance(value, (pd.Series, pd.DataFrame)) else np.asarray(value)
        source = f"input '{spec.name}'"
        out[spec.name] = _fit_shape(cast(arr, spec, source), spec, source)
    return out


def row_count(tensors: Tensors, inputs: Sequence[TensorSpec], pipeline: str) -> int:
    """Rows in a request: the shared first dimension of the batched inputs (1 when none is batched)."""
    rows: Optional[int] = None
    for spec in inputs:
        arr = tensors[spec.name]
        if spec.batched:
            if rows is not None and arr.shape[0] != rows:
                raise InvalidInput(
                    f"input '{spec.name}' has {arr.shape[0]} rows but the other inputs have {rows}", "SHAPE_MISMATCH"
                )
            rows = arr.shape[0]
    if rows == 0:
        raise InvalidInput(f"the request to pipeline '{pipeline}' has no rows", "INVALID_REQUEST")
    return 1 if rows is None else rows


def json_exact(tensors: Tensors) -> bool:
    """Whether JSON carries these values exactly (no NaN/Infinity, no integers beyond 2^53)."""
    for arr in tensors.values():
        k = arr.dtype.kind
        if k == "f" and arr.size and not np.isfinite(arr).all():
            return False
        if k in _INT_KINDS and arr.size and arr.dtype.itemsize == 8:
            if int(arr.max()) > _MAX_SAFE_JSON_INT or int(arr.min()) < -_MAX_SAFE_JSON_INT:
                return False
    return True


def to_json_values(arr: np.ndarray) -> list[Any]:
    """One JSON value per row (nested lists for array rows); bytes become text."""
    if arr.dtype == object:
        text = np.empty(arr.shape, dtype=object)
        flat, out = arr.reshape(-1), text.reshape(-1)
        for i, v in enumerate(flat):
            out[i] = v.decode("utf-8") if isinstance(v, bytes) else v
        return list(text.tolist())
    return list(arr.tolist())


# -- binary tensor data extension ----------------------------------------------------------


def tensor_bytes(arr: np.ndarray, datatype: str) -> bytes:
    """The raw bytes of a tensor in the binary extension's layout (row-major, little-endian)."""
    if datatype == "BYTES":
        parts = []
        for v in arr.reshape(-1):
            b = v if isinstance(v, bytes) else str(v).encode("utf-8")
            parts.append(struct.pack("<I", len(b)))
            parts.append(b)
        return b"".join(parts)
    dtype = NUMPY_DTYPES[datatype].newbyteorder("<")
    return np.ascontiguousarray(arr, dtype=dtype).tobytes()


def tensor_from_bytes(data: memoryview, datatype: str, shape: Sequence[int], name: str) -> np.ndarray:
    """A tensor from its raw bytes (BYTES elements come back as ``str``)."""
    count = int(np.prod(shape, dtype=np.int64))
    if datatype == "BYTES":
        out = np.empty(count, dtype=object)
        off = 0
        for i in range(count):
            (n,) = struct.unpack_from("<I", data, off)
            off += 4
            out[i] = bytes(data[off : off + n]).decode("utf-8", errors="replace")
            off += n
        return out.reshape(shape)
    try:
        dtype = NUMPY_DTYPES[datatype].newbyteorder("<")
    except KeyError:
        raise InvalidInput(f"output '{name}' has datatype {datatype}, which this SDK does not know", "UNKNOWN_DATATYPE") from None
    arr = np.frombuffer(data, dtype=dtype, count=count).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def encode_binary_request(
    tensors: Tensors, inputs: Sequence[TensorSpec], parameters: Mapping[str, Any], request_id: str
) -> tuple[bytes, int]:
    """An OIP infer body with every input as binary data and every output asked for as binary.

    Returns the body and the length of its JSON header (``Inference-Header-Content-Length``).
    """
    chunks = []
    head_inputs = []
    for spec in inputs:
        arr = tensors[spec.name]
        b = tensor_bytes(arr, spec.datatype)
        chunks.append(b)
        head_inputs.append({
            "name": spec.name, "datatype": spec.datatype, "shape": list(arr.shape),
            "parameters": {"binary_data_size": len(b)},
        })
    params = dict(parameters)
    params["binary_data_output"] = True
    header = json.dumps({"id": request_id, "inputs": head_inputs, "parameters": params}, allow_nan=False).encode("utf-8")
    return header + b"".join(chunks), len(header)


def decode_infer_response(body: bytes, header_length: Optional[int]) -> tuple[dict[str, Any], Tensors]:
    """An OIP infer answer (JSON, or a JSON header followed by binary outputs): its header and outputs."""
    view = memoryview(body)
    end = len(body) if header_length is None else header_length
    head = json.loads(bytes(view[:end]).decode("utf-8"))
    offset = end
    outputs: Tensors = {}
    for out in head.get("outputs", []):
        name, datatype, shape = out["name"], out["datatype"], [int(d) for d in out["shape"]]
        size = (out.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            outputs[name] = tensor_from_bytes(view[offset : offset + int(size)], datatype, shape, name)
            offset += int(size)
        else:
            dtype = NUMPY_DTYPES.get(datatype, np.dtype(object))
            outputs[name] = np.asarray(out.get("data", []), dtype=dtype).reshape(shape)
    return head, outputs


# -- results ------------------------------------------------------------------------------


def per_row(arr: np.ndarray, rows: int) -> np.ndarray:
    """One value per row: scalars for (rows,) tensors, arrays for (rows, ...) ones; a tensor not
    batched along the rows is given whole to every row (as the server's records do)."""
    if arr.ndim >= 1 and arr.shape[0] == rows:
        if arr.ndim == 1:
            return arr
        out = np.empty(rows, dtype=object)
        for i in range(rows):
            out[i] = arr[i]
        return out
    out = np.empty(rows, dtype=object)
    for i in range(rows):
        out[i] = arr
    return out


def results_frame(
    times: np.ndarray, inputs: Tensors, outputs: Tensors, index: Optional[pd.Index] = None
) -> pd.DataFrame:
    """Result rows: ``time`` (epoch ms), ``in.<input>``, ``out.<output>``."""
    rows = len(times)
    cols: dict[str, Any] = {"time": times.astype(np.int64)}
    for prefix, tensors in (("in.", inputs), ("out.", outputs)):
        for name, arr in tensors.items():
            cols[prefix + name] = per_row(arr, rows)
    return pd.DataFrame(cols, index=index if index is not None and len(index) == rows else None)
