"""Reading input files into DataFrames: CSV, JSON (records or JSON Lines), Arrow IPC, Parquet."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Union, cast

import pandas as pd

FORMATS = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def _frame_from_json_text(text: str) -> pd.DataFrame:
    stripped = text.lstrip()
    if stripped.startswith("["):
        return pd.DataFrame.from_records(json.loads(text))
    if stripped.startswith("{"):
        try:
            doc: Any = json.loads(text)
        except ValueError:
            doc = None  # more than one object: JSON Lines
        if isinstance(doc, dict):
            if isinstance(doc.get("records"), list):
                return pd.DataFrame.from_records(doc["records"])
            return pd.DataFrame.from_records([doc])
    return _frame_from_json_lines(text)


def _frame_from_json_lines(text: str) -> pd.DataFrame:
    return pd.DataFrame.from_records([json.loads(line) for line in text.splitlines() if line.strip()])


def read_frame(path: Union[str, os.PathLike[str]], format: Optional[str] = None) -> pd.DataFrame:
    """A DataFrame from a file; the format comes from ``format`` or the file's extension.

    JSON may be an array of records, ``{"records": [...]}`` or JSON Lines; Arrow may be the IPC
    file or stream format. Columns keep the file's order (feature columns are stacked in it).
    """
    p = Path(path)
    fmt = (format or FORMATS.get(p.suffix.lower(), "")).lower().lstrip(".")
    fmt = {"ndjson": "jsonl", "feather": "arrow", "ipc": "arrow", "pq": "parquet"}.get(fmt, fmt)
    if fmt == "csv":
        return pd.read_csv(p)
    if fmt == "json":
        return _frame_from_json_text(p.read_text(encoding="utf-8"))
    if fmt == "jsonl":
        return _frame_from_json_lines(p.read_text(encoding="utf-8"))
    if fmt == "arrow":
        import pyarrow as pa

        with pa.memory_map(str(p), "r") as source:
            try:
                table = pa.ipc.open_file(source).read_all()
            except pa.ArrowInvalid:
                source.seek(0)
                table = pa.ipc.open_stream(source).read_all()
        return cast(pd.DataFrame, table.to_pandas())
    if fmt == "parquet":
        return pd.read_parquet(p)
    raise ValueError(
        f"cannot tell the format of '{p.name}'; name it .csv, .json, .jsonl, .arrow or .parquet, or pass format="
    )
