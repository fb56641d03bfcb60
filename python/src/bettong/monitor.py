"""
Performance monitors: ground-truth labels (``pipeline.add_feedback``) joined to a pipeline's
logged predictions, realised metrics per window (accuracy, F1, ROC AUC, RMSE, ...) and, for
probabilistic classifiers, metrics estimated before the labels come (CBPE). Build a monitor
with ``client.build_monitor``, preview it as a DataFrame (and a chart), save it to run by itself.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import pandas as pd

from ._http import segment
from .assay import DurationLike, _duration, _time
from .pipeline import TimeLike, time_param
from .resources import Resource, ResourceList

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Monitor", "MonitorList", "MonitorResults"]

_ESTIMATED = ("accuracy", "f1", "roc_auc")


def _results_frame(windows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per window: bounds, rows, labelled rows, coverage, the realised value and every
    metric, the CBPE estimate of the monitor's metric with its band, state and status."""
    rows = []
    for w in windows:
        win = w.get("window") or {}
        est = w.get("estimated") or {}
        metric = w.get("metric")
        band = (est.get("metrics") or {}).get(metric) or {}
        row: dict[str, Any] = {
            "window": win.get("index"),
            "start": pd.to_datetime(win.get("start"), unit="ms", utc=True),
            "end": pd.to_datetime(win.get("end"), unit="ms", utc=True),
            "count": w.get("count"), "labelled": w.get("labelled"), "coverage": w.get("coverage"),
            "metric": metric, "value": w.get("value"),
            "estimated": est.get("value"), "estimated_lower": band.get("lower"), "estimated_upper": band.get("upper"),
            "state": w.get("state"), "status": w.get("status"), "estimated_status": est.get("status"),
        }
        for k, v in (w.get("metrics") or {}).items():
            row[f"metric.{k}"] = v
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in ("value", "estimated", "estimated_lower", "estimated_upper", "coverage"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


class MonitorResults(pd.DataFrame):
    """A monitor's windows as a DataFrame (see :func:`_results_frame` for the columns), with the
    server's answer in ``answer`` and :meth:`plot`: the metric over time, realised and estimated
    (with its confidence band), and the warning / alert thresholds. ``plot`` overrides the
    DataFrame's accessor (use ``pd.DataFrame(results).plot`` for that)."""

    _metadata = ["answer", "thresholds"]

    @property
    def _constructor(self) -> type:
        return pd.DataFrame

    @classmethod
    def from_windows(cls, windows: Sequence[dict[str, Any]], thresholds: Optional[dict[str, Any]], answer: Any = None) -> "MonitorResults":
        out = cls(_results_frame(windows))
        out.answer = answer if answer is not None else list(windows)
        out.thresholds = thresholds or {}
        return out

    def plot(self) -> Any:  # type: ignore[override]
        """A matplotlib figure of the metric per window: realised (once labels came), estimated
        (CBPE) with its band, and the thresholds.

        Raises:
            ImportError: matplotlib is not installed.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("MonitorResults.plot needs matplotlib: pip install matplotlib") from None
        fig, ax = plt.subplots(figsize=(10, 4))
        metric = str(self["metric"].iloc[0]) if len(self) else "metric"
        if len(self):
            ax.plot(self["start"], self["value"], marker="o", color="tab:blue", label=f"{metric} (realised)")
            if self["estimated"].notna().any():
                ax.plot(self["start"], self["estimated"], marker="s", linestyle="--", color="tab:purple", label=f"{metric} (estimated, CBPE)")
                ax.fill_between(self["start"], self["estimated_lower"], self["estimated_upper"], color="tab:purple", alpha=0.15, label="estimate's band")
            colors = {"ok": "tab:green", "warning": "tab:orange", "alert": "tab:red"}
            judged = self[self["status"].isin(colors.keys())]
            ax.scatter(judged["start"], judged["value"], c=[colors[s] for s in judged["status"]], zorder=3)
        for name, color in (("warning", "tab:orange"), ("alert", "tab:red")):
            v = self.thresholds.get(name)
            if isinstance(v, (int, float)):
                ax.axhline(v, color=color, linestyle=":", label=name)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per window")
        ax.legend(fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        return fig


class Monitor(Resource):
    """A performance monitor: a draft (``client.build_monitor``) or a saved one
    (``client.get_monitor`` / ``client.list_monitors``)::

        monitor = client.build_monitor("fraud-accuracy", "fraud", task="classification",
                                       label="is_fraud", prediction="out.label",
                                       probabilities="out.probabilities", key="metadata.transaction_id",
                                       window="1d", metric="accuracy", alert=0.8,
                                       reference=(ref_start, ref_end))
        monitor.preview(start, end).plot()
        monitor.create()
    """

    def __init__(self, client: "Client", name: str, definition: dict[str, Any], info: Optional[dict[str, Any]] = None) -> None:
        self._client = client
        self.name = name
        self.definition = definition
        self.pipeline = definition.get("pipeline", "")
        self._raw = info or {"name": name, **definition}

    @classmethod
    def from_info(cls, client: "Client", d: dict[str, Any]) -> "Monitor":
        return cls(client, d["name"], dict(d.get("definition") or {}), info=d)

    @staticmethod
    def build_definition(pipeline: str, *, task: str, label: str, prediction: str, window: DurationLike,
                         index: Optional[Union[int, list[int]]] = None, probabilities: Optional[str] = None,
                         classes: Optional[Sequence[Any]] = None, positive: Any = None, key: str = "request_id",
                         metric: Optional[str] = None, warning: Optional[float] = None, alert: Optional[float] = None,
                         interval: Optional[DurationLike] = None, start: Optional[TimeLike] = None,
                         min_coverage: Optional[float] = None, max_delay: Optional[DurationLike] = None,
                         reference: Optional[tuple[TimeLike, TimeLike]] = None, webhook: Optional[str] = None,
                         alert_on: str = "alert") -> dict[str, Any]:
        if key != "request_id" and not key.startswith("metadata."):
            key = f"metadata.{key}"  # a bare field: the caller's id logged as request metadata
        d: dict[str, Any] = {"pipeline": pipeline, "task": task, "label": label, "key": key,
                             "prediction": {"column": prediction, **({"index": index} if index is not None else {})},
                             "window": {"width": _duration(window)}}
        if interval is not None:
            d["window"]["interval"] = _duration(interval)
        if start is not None:
            d["window"]["start"] = _time(start)
        if probabilities:
            d["probabilities"] = {"column": probabilities}
        if classes is not None:
            d["classes"] = list(classes)
        if positive is not None:
            d["positive"] = positive
        if metric:
            d["metric"] = metric
        if warning is not None or alert is not None:
            d["thresholds"] = {k: v for k, v in (("warning", warning), ("alert", alert)) if v is not None}
        if min_coverage is not None or max_delay is not None:
            d["coverage"] = {**({"min": min_coverage} if min_coverage is not None else {}),
                             **({"max_delay": _duration(max_delay)} if max_delay is not None else {})}
        if reference is not None:
            d["reference"] = {"start": _time(reference[0]), "end": _time(reference[1])}
        if webhook:
            d["alert"] = {"webhook": webhook, "on": alert_on}
        return d

    def preview(self, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None) -> MonitorResults:
        """Runs the definition over past windows from ``start`` to ``end`` without saving it."""
        body = {k: v for k, v in self.definition.items() if k != "alert"}
        if start is not None:
            body["start"] = _time(start)
        if end is not None:
            body["end"] = _time(end)
        self._client.get_pipeline(self.pipeline)._flush_logs()
        d = self._client._http.json("POST", "/v1/monitors/preview", json_body=body)
        return MonitorResults.from_windows(d.get("windows", []), self.definition.get("thresholds"), d)

    def create(self) -> "Monitor":
        """Saves the monitor: each window is computed when it ends and finalised when its labels came."""
        d = self._client._http.json("POST", "/v1/monitors", json_body={"name": self.name, **self.definition})
        return Monitor.from_info(self._client, d)

    def results(self, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None, limit: Optional[int] = None) -> MonitorResults:
        """The saved monitor's windows (final ones and the pending one, with its estimate)."""
        d = self._client._http.json("GET", f"/v1/monitors/{segment(self.name)}/results",
                                    params={"start": time_param(start), "end": time_param(end), "limit": limit})
        return MonitorResults.from_windows(d.get("results", []), self.definition.get("thresholds"), d)

    def alerts(self) -> pd.DataFrame:
        """Alert deliveries: status, attempts, the payload's event, source, value and window."""
        d = self._client._http.json("GET", f"/v1/monitors/{segment(self.name)}/alerts")
        return pd.DataFrame([{**{k: v for k, v in a.items() if k != "payload"},
                              **{f"payload.{k}": v for k, v in (a.get("payload") or {}).items() if k in ("event", "source", "value")}}
                             for a in d.get("alerts", [])])

    def pause(self) -> "Monitor":
        return Monitor.from_info(self._client, self._client._http.json("POST", f"/v1/monitors/{segment(self.name)}/pause", json_body={}))

    def resume(self) -> "Monitor":
        return Monitor.from_info(self._client, self._client._http.json("POST", f"/v1/monitors/{segment(self.name)}/resume", json_body={}))

    def delete(self) -> None:
        self._client._http.json("DELETE", f"/v1/monitors/{segment(self.name)}")

    def _title(self) -> str:
        return f"Monitor {self.name}"

    def _fields(self) -> dict[str, Any]:
        r = self._raw
        f: dict[str, Any] = {"name": self.name, "pipeline": self.pipeline, "task": self.definition.get("task"),
                             "metric": r.get("metric", self.definition.get("metric"))}
        for k in ("state", "created_at"):
            if r.get(k) is not None:
                f[k] = r[k]
        last = r.get("last_result")
        if last:
            f["last_result"] = f"{last.get('status')} ({last.get('value')}, {last.get('state')})"
        return f


class MonitorList(ResourceList[Monitor]):
    """Saved performance monitors, by name."""

    title = "monitors"
    columns = ("name", "pipeline", "task", "metric", "state", "created_at")
