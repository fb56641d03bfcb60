"""
Assays (drift monitoring): a baseline compared with rolling windows of one column of a
pipeline's inference logs. Build a definition here, preview it over past windows as a
DataFrame (and a chart), save it to run by itself, and read its stored results.
"""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np
import pandas as pd

from ._http import segment
from .pipeline import TimeLike, time_param
from .resources import Resource, ResourceList

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Assay", "AssayList", "AssayPreview", "METRICS"]

#: Metrics the server scores windows with.
METRICS = ("psi", "maxdiff", "sumdiff", "jensenshannon", "chisquare", "ks", "wasserstein")

#: A duration: milliseconds, a ``timedelta``, or a string such as ``"10s"``, ``"5m"``, ``"24h"``, ``"7d"``.
DurationLike = Union[int, str, _dt.timedelta, pd.Timedelta]


def _duration(d: DurationLike) -> Union[int, str]:
    if isinstance(d, bool):
        raise TypeError("a duration must be milliseconds, a timedelta or a string like '1h', not a bool")
    if isinstance(d, (_dt.timedelta, pd.Timedelta)):
        return int(round(d.total_seconds() * 1000))
    if isinstance(d, (int, np.integer)):
        return int(d)
    if isinstance(d, str):
        return d
    raise TypeError(f"a duration must be milliseconds, a timedelta or a string like '1h', not {type(d).__name__}")


def _time(t: TimeLike) -> Union[int, str]:
    v = time_param(t)
    assert v is not None
    return int(v) if v.lstrip("-").isdigit() else v


def _windows_frame(windows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per window result: window bounds (as UTC datetimes too), score, status, count, ..."""
    rows = []
    for w in windows:
        win = w.get("window") or {}
        metrics = w.get("metrics") or {}
        summary = w.get("summary") or {}
        row: dict[str, Any] = {
            "window": win.get("index"),
            "start": pd.to_datetime(win.get("start"), unit="ms", utc=True),
            "end": pd.to_datetime(win.get("end"), unit="ms", utc=True),
            "count": w.get("count"), "metric": w.get("metric"), "score": w.get("score"),
            "pvalue": w.get("pvalue"), "status": w.get("status"),
            "psi": metrics.get("psi"), "maxdiff": (metrics.get("maxdiff") or {}).get("score"),
            "sumdiff": metrics.get("sumdiff"), "jensenshannon": metrics.get("jensenshannon"),
        }
        for k in ("mean", "std", "min", "max", "median"):
            if k in summary:
                row[k] = summary[k]
        if "id" in w:
            row["id"] = w["id"]
        rows.append(row)
    cols = ["window", "start", "end", "count", "metric", "score", "pvalue", "status", "psi", "maxdiff", "sumdiff",
            "jensenshannon", "mean", "std", "min", "max", "median"]
    df = pd.DataFrame(rows, columns=cols + (["id"] if any("id" in r for r in rows) else []))
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    return df


class AssayPreview(pd.DataFrame):
    """An assay preview: a DataFrame with one row per window (``start``, ``end``, ``count``,
    ``score``, ``status``, the binned metrics and the window's summary), plus the server's full
    answer in ``preview`` (baseline profile and both histograms of every window) and
    :meth:`plot`, which overrides the DataFrame's ``plot`` accessor (use
    ``pd.DataFrame(preview).plot`` for that)."""

    _metadata = ["preview"]

    @property
    def _constructor(self) -> type:
        return pd.DataFrame

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "AssayPreview":
        """Builds a preview from the answer of ``POST /v1/assays/preview``."""
        out = cls(_windows_frame(d.get("windows", [])))
        out.preview = d
        return out

    @property
    def baseline(self) -> dict[str, Any]:
        """The baseline profile: labels, edges, counts, proportions and summary."""
        return dict(self.preview.get("baseline") or {})

    def plot(self, window: Optional[int] = None) -> Any:  # type: ignore[override]
        """A matplotlib figure: baseline vs window proportions per bin (the last window with
        rows, or position ``window``), and the score of every window over time with the
        warning / alert thresholds.

        Raises:
            ImportError: matplotlib is not installed.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("AssayPreview.plot needs matplotlib: pip install matplotlib") from None
        windows = self.preview.get("windows", [])
        baseline = self.baseline
        fig, (ax_hist, ax_score) = plt.subplots(1, 2, figsize=(12, 4))
        labels = list(baseline.get("labels") or [])
        x = np.arange(len(labels))
        ax_hist.bar(x - 0.2, baseline.get("proportions") or [0] * len(labels), width=0.4, label="baseline")
        if window is None:
            with_rows = [i for i, w in enumerate(windows) if w.get("count")]
            window = with_rows[-1] if with_rows else None
        if window is not None and windows:
            w = windows[window]
            ax_hist.bar(x + 0.2, (w.get("bins") or {}).get("window") or [0] * len(labels), width=0.4,
                        label=f"window {(w.get('window') or {}).get('index', window)}")
        ax_hist.set_xticks(x)
        ax_hist.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
        ax_hist.set_ylabel("proportion")
        ax_hist.set_title(f"{self.preview.get('target', '')}: baseline vs window")
        ax_hist.legend()
        if len(self):
            colors = {"ok": "tab:green", "warning": "tab:orange", "alert": "tab:red", "no_data": "tab:gray"}
            ax_score.plot(self["start"], self["score"], color="tab:blue", marker=None)
            ax_score.scatter(self["start"], self["score"], c=[colors.get(s, "tab:blue") for s in self["status"]], zorder=3)
            thresholds = ((windows[0].get("parameters") or {}).get("thresholds") or {}) if windows else {}
            for name, color in (("warning", "tab:orange"), ("alert", "tab:red")):
                v = thresholds.get(name)
                if isinstance(v, (int, float)):
                    ax_score.axhline(v, color=color, linestyle="--", label=name)
            if thresholds:
                ax_score.legend()
        metric = self["metric"].iloc[0] if len(self) else (self.preview.get("definition") or {}).get("metric", "score")
        ax_score.set_ylabel(str(metric))
        ax_score.set_title("score per window")
        fig.autofmt_xdate()
        fig.tight_layout()
        return fig


class Assay(Resource):
    """An assay: a draft definition (``client.build_assay``) or a saved one
    (``client.get_assay`` / ``client.list_assays``).

    The setters return the assay, so calls chain::

        assay = (client.build_assay("p1-drift", "fraud", "out.probabilities", index=1)
                 .set_baseline_range(start, end).set_window("1h", interval="10m")
                 .set_metric("psi", warning=0.1, alert=0.25))
        assay.preview(start=..., end=...).plot()
        assay.create()
    """

    def __init__(self, client: "Client", name: str, pipeline: str, target: str,
                 index: Optional[Union[int, list[int]]] = None, info: Optional[dict[str, Any]] = None) -> None:
        self._client = client
        self.name = name
        self.pipeline = pipeline
        self._target: dict[str, Any] = {"column": target}
        if index is not None:
            self._target["index"] = index
        self._baseline: Optional[dict[str, Any]] = None
        self._window: Optional[dict[str, Any]] = None
        self._binning: Optional[dict[str, Any]] = None
        self._metric: Optional[str] = None
        self._thresholds: Optional[dict[str, float]] = None
        self._epsilon: Optional[float] = None
        self._alert: Optional[dict[str, Any]] = None
        self._raw = info or {"name": name, "pipeline": pipeline, "target": target}

    @classmethod
    def from_info(cls, client: "Client", d: dict[str, Any]) -> "Assay":
        """A saved assay from the server's JSON (its definition becomes the draft)."""
        definition = d.get("definition") or {}
        target = definition.get("target") or {}
        a = cls(client, d["name"], d.get("pipeline", definition.get("pipeline", "")),
                target.get("column", d.get("target", "")), target.get("index"), info=d)
        a._target = dict(target) or a._target
        for key in ("baseline", "window", "binning", "thresholds", "alert"):
            if isinstance(definition.get(key), dict):
                setattr(a, f"_{key}", dict(definition[key]))
        a._metric = definition.get("metric")
        a._epsilon = definition.get("epsilon")
        return a

    # -- the definition ---------------------------------------------------------------------

    def set_target_kind(self, kind: str) -> "Assay":
        """``"numeric"`` or ``"categorical"`` (by default the server infers it from the column)."""
        self._target["kind"] = kind
        return self

    def set_baseline_range(self, start: TimeLike, end: TimeLike) -> "Assay":
        """The baseline is the target column of the pipeline's logs from ``start`` to ``end``."""
        self._baseline = {"start": _time(start), "end": _time(end)}
        return self

    def set_baseline_values(self, values: Any) -> "Assay":
        """The baseline is these values (a list, numpy array or Series; NaN / None are missing)."""
        arr = np.asarray(values).ravel()
        out: list[Any] = []
        for v in arr.tolist():
            if isinstance(v, float) and np.isnan(v):
                out.append(None)
            else:
                out.append(v)
        self._baseline = {"values": out}
        return self

    def set_baseline_file(self, path: Union[str, "os.PathLike[str]"], column: str, index: Optional[int] = None,
                          format: Optional[str] = None) -> "Assay":
        """The baseline is ``column`` of a CSV, JSON or JSON Lines file (sent with the definition)."""
        p = Path(path)
        f: dict[str, Any] = {"content": p.read_text(), "column": column}
        fmt = format or {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(p.suffix.lower())
        if fmt:
            f["format"] = fmt
        if index is not None:
            f["index"] = index
        self._baseline = {"file": f}
        return self

    def set_window(self, width: DurationLike, interval: Optional[DurationLike] = None,
                   start: Optional[TimeLike] = None) -> "Assay":
        """Windows ``width`` wide, one every ``interval`` (default: ``width``), aligned on ``start``."""
        w: dict[str, Any] = {"width": _duration(width)}
        if interval is not None:
            w["interval"] = _duration(interval)
        if start is not None:
            w["start"] = _time(start)
        self._window = w
        return self

    def set_bins(self, bins: Optional[int] = None, mode: Optional[str] = None,
                 edges: Optional[Sequence[float]] = None) -> "Assay":
        """Binning: ``bins`` (default 5) in ``mode`` ``quantile`` (default) / ``equal_width``, or ``edges`` (mode ``provided``)."""
        b: dict[str, Any] = {}
        if edges is not None:
            b["edges"] = [float(e) for e in edges]
            b["mode"] = mode or "provided"
        elif mode is not None:
            b["mode"] = mode
        if bins is not None:
            b["bins"] = int(bins)
        self._binning = b
        return self

    def set_metric(self, metric: str, warning: Optional[float] = None, alert: Optional[float] = None,
                   epsilon: Optional[float] = None) -> "Assay":
        """The metric that scores windows (``psi`` by default, see :data:`METRICS`) and its thresholds."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
        self._metric = metric
        if warning is not None or alert is not None:
            self.set_thresholds(warning, alert)
        if epsilon is not None:
            self._epsilon = float(epsilon)
        return self

    def set_thresholds(self, warning: Optional[float] = None, alert: Optional[float] = None) -> "Assay":
        """Scores (p-values for ks / chisquare) from which a window is in warning / alert."""
        self._thresholds = {k: float(v) for k, v in (("warning", warning), ("alert", alert)) if v is not None}
        return self

    def set_alert_webhook(self, url: str, on: str = "alert") -> "Assay":
        """Windows in ``alert`` (or ``warning`` too) are POSTed to ``url`` once the assay is saved."""
        self._alert = {"webhook": url, "on": on}
        return self

    def definition(self) -> dict[str, Any]:
        """The assay definition as the server takes it."""
        if self._baseline is None:
            raise ValueError("the assay needs a baseline: set_baseline_range, set_baseline_values or set_baseline_file")
        if self._window is None:
            raise ValueError("the assay needs windows: set_window(width, interval=..., start=...)")
        d: dict[str, Any] = {"pipeline": self.pipeline, "target": dict(self._target), "baseline": self._baseline,
                             "window": self._window}
        if self._binning:
            d["binning"] = self._binning
        if self._metric:
            d["metric"] = self._metric
        if self._thresholds:
            d["thresholds"] = self._thresholds
        if self._epsilon is not None:
            d["epsilon"] = self._epsilon
        return d

    # -- server calls ----------------------------------------------------------------------

    def preview(self, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None) -> AssayPreview:
        """Runs the definition over past windows from ``start`` to ``end`` without saving it."""
        body = self.definition()
        if start is not None:
            body["start"] = _time(start)
        if end is not None:
            body["end"] = _time(end)
        self._client.get_pipeline(self.pipeline)._flush_logs()
        return AssayPreview.from_json(self._client._http.json("POST", "/v1/assays/preview", json_body=body))

    def create(self) -> "Assay":
        """Saves the assay (it then runs at each interval) and returns it as the server has it."""
        body = {"name": self.name, **self.definition()}
        if self._alert:
            body["alert"] = self._alert
        return Assay.from_info(self._client, self._client._http.json("POST", "/v1/assays", json_body=body))

    def results(self, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None,
                limit: Optional[int] = None) -> pd.DataFrame:
        """Stored window results (chronological) with window starts in ``[start, end)``, one row each."""
        d = self._client._http.json("GET", f"/v1/assays/{segment(self.name)}/results",
                                    params={"start": time_param(start), "end": time_param(end), "limit": limit})
        return _windows_frame(d.get("results", []))

    def pause(self) -> "Assay":
        """Stops running the saved assay; returns it."""
        return Assay.from_info(self._client, self._client._http.json("POST", f"/v1/assays/{segment(self.name)}/pause", json_body={}))

    def resume(self) -> "Assay":
        """Resumes with the first window that ends after now; returns the assay."""
        return Assay.from_info(self._client, self._client._http.json("POST", f"/v1/assays/{segment(self.name)}/resume", json_body={}))

    def delete(self) -> None:
        """Deletes the saved assay with its results and alert deliveries."""
        self._client._http.json("DELETE", f"/v1/assays/{segment(self.name)}")

    @property
    def state(self) -> Optional[str]:
        """``active`` or ``paused`` for a saved assay (as last read); None for a draft."""
        return self._raw.get("state")

    # -- display ---------------------------------------------------------------------------

    def _title(self) -> str:
        return f"Assay {self.name}"

    def _fields(self) -> dict[str, Any]:
        r = self._raw
        f: dict[str, Any] = {"name": self.name, "pipeline": self.pipeline, "target": r.get("target", self._target.get("column"))}
        for k in ("metric", "state", "created_at"):
            if r.get(k) is not None:
                f[k] = r[k]
        last = r.get("last_result")
        if last:
            f["last_result"] = f"{last.get('status')} (score {last.get('score')})"
        return f

    def _row(self) -> dict[str, Any]:
        r = self._raw
        last = r.get("last_result") or {}
        return {"name": self.name, "pipeline": self.pipeline, "target": r.get("target"), "metric": r.get("metric"),
                "state": r.get("state"), "last_status": last.get("status"), "created_at": r.get("created_at")}


class AssayList(ResourceList[Assay]):
    """Saved assays, by name."""

    title = "assays"
    columns = ("name", "pipeline", "target", "metric", "state", "last_status", "created_at")
