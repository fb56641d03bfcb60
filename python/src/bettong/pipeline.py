"""
Pipelines: a local draft of ordered steps, the versions the server keeps, deployment, and
inference with DataFrames (or dicts of numpy arrays) in and out, and the inference logs.
"""
from __future__ import annotations

import json

import datetime as _dt
import os
import time as _time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping, Optional, Sequence, Union, overload

import numpy as np
import pandas as pd

from . import _files, _tensors
from ._http import segment
from .errors import BettongError, InvalidInput, NotFound
from .resources import (
    Deployment,
    Model,
    ModelVersion,
    PipelineStep,
    PipelineVersion,
    PipelineVersionList,
    Resource,
    ResourceList,
    Signature,
    TensorSpec,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from .client import Client

__all__ = ["Step", "ModelStep", "ABStep", "ShadowStep", "ServerStep", "Pipeline", "PipelineList", "TimeLike"]

#: A point in time for log queries: epoch milliseconds, a datetime (naive ones are local time,
#: as ``datetime.now()`` gives), a pandas Timestamp, or an ISO 8601 string.
TimeLike = Union[int, float, str, _dt.datetime, _dt.date, pd.Timestamp, np.datetime64]
ModelLike = Union[str, Model, ModelVersion]
InferInput = Union[pd.DataFrame, Mapping[str, Any], "pa.Table"]
Transport = Literal["auto", "binary", "records"]

#: Rows sent in one request unless ``batch_size`` says otherwise.
DEFAULT_BATCH_ROWS = 5_000
#: A batch never carries more tensor bytes than this (the server refuses bodies over 64 MiB).
MAX_BATCH_BYTES = 16 * 1024 * 1024
#: Frames up to this many rows go in one records request (the server's own `time`, one round trip).
RECORDS_MAX_ROWS = 100
#: The server's largest log page.
MAX_LOG_PAGE = 10_000


class Step(ABC):
    """One step of a pipeline definition.

    Model steps exist today; A/B split steps, shadow steps and validations will be further
    subclasses whose ``to_json`` writes what the server's pipeline route accepts for them.
    """

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The step as an item of ``steps`` in ``POST /v1/pipelines``."""


@dataclass(frozen=True)
class ModelStep(Step):
    """A step that runs one model: a pinned version, or (``version=None``) the model's latest
    version at the time the pipeline version is created."""

    model: str
    version: Optional[int] = None

    def to_json(self) -> dict[str, Any]:
        """``{"model": ..., "version": ...}`` (version omitted when not pinned)."""
        d: dict[str, Any] = {"model": self.model}
        if self.version is not None:
            d["version"] = self.version
        return d

    def __str__(self) -> str:
        return f"{self.model} v{self.version}" if self.version is not None else f"{self.model} (latest)"


@dataclass(frozen=True)
class ServerStep(Step):
    """A step of an existing pipeline version that this SDK cannot write back yet (an A/B or
    shadow step); it shows in the draft, and deploying that version as it is still works."""

    step: PipelineStep

    def to_json(self) -> dict[str, Any]:
        """Refuses: the server takes these steps in another form than it reports them."""
        raise NotImplementedError(
            f"this version of the SDK cannot send steps of kind '{self.step.kind}'; deploy the existing version "
            "with deploy(version=...) instead of editing its steps"
        )

    def __str__(self) -> str:
        return str(self.step)


@dataclass(frozen=True)
class ABStep(Step):
    """An A/B split: each row goes to one arm, by weight at random, sticky per ``key``
    (``metadata.<name>`` or ``in.<input>``, hashed), or through ``mapping`` of the key's values
    to arms (``"model"`` or ``"model:version"``) with a ``default`` arm."""

    arms: tuple[tuple[ModelStep, Optional[float]], ...]
    key: Optional[str] = None
    split: Optional[str] = None
    mapping: Optional[dict[str, str]] = None
    default: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        """``{"ab": {"arms": [...], "key"?, "split"?, "mapping"?, "default"?}}``."""
        arms = []
        for step, weight in self.arms:
            a = step.to_json()
            if weight is not None:
                a["weight"] = weight
            arms.append(a)
        ab: dict[str, Any] = {"arms": arms}
        for k in ("key", "split", "mapping", "default"):
            v = getattr(self, k)
            if v is not None:
                ab[k] = dict(v) if k == "mapping" else v
        return {"ab": ab}

    def __str__(self) -> str:
        arms = ", ".join(f"{s}" + (f" w={w:g}" if w is not None else "") for s, w in self.arms)
        return f"ab({arms})" + (f" key={self.key}" if self.key else "")


@dataclass(frozen=True)
class ShadowStep(Step):
    """A shadow step: the champion answers; the challengers get the same rows and their
    outputs are only logged (``shadow.<model>.<output>``)."""

    champion: ModelStep
    challengers: tuple[ModelStep, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"shadow": {"champion": {...}, "challengers": [...]}}``."""
        return {"shadow": {"champion": self.champion.to_json(), "challengers": [c.to_json() for c in self.challengers]}}

    def __str__(self) -> str:
        return f"shadow({self.champion}; challengers: {', '.join(str(c) for c in self.challengers)})"


def _arm(arm: Any) -> tuple[ModelStep, Optional[float]]:
    if isinstance(arm, tuple):
        if len(arm) != 2:
            raise ValueError(f"an A/B arm is a model or a (model, weight) pair, not a tuple of {len(arm)}")
        model, weight = arm
        return _model_step(model, None), None if weight is None else float(weight)
    return _model_step(arm, None), None


def _model_step(model: ModelLike, version: Optional[int]) -> ModelStep:
    if isinstance(model, ModelVersion):
        if version is not None and version != model.version:
            raise ValueError(f"model version {model.model} v{model.version} given with version={version}")
        return ModelStep(model.model, model.version)
    if isinstance(model, Model):
        return ModelStep(model.name, version)
    if isinstance(model, str):
        return ModelStep(model, version)
    raise TypeError(f"a model step needs a ModelVersion, a Model or a model name, not {type(model).__name__}")


def time_param(t: Optional[TimeLike]) -> Optional[str]:
    """A time as the server's logs route takes it (epoch ms, or an ISO 8601 string as given)."""
    if t is None:
        return None
    if isinstance(t, (bool, np.bool_)):
        raise TypeError("a time must be epoch milliseconds, a datetime or an ISO 8601 string, not a bool")
    if isinstance(t, (int, np.integer)):
        return str(int(t))
    if isinstance(t, (float, np.floating)):
        return str(int(t))
    if isinstance(t, str):
        return t
    if isinstance(t, np.datetime64):
        t = pd.Timestamp(t).tz_localize("UTC")
    if isinstance(t, pd.Timestamp):
        t = t.to_pydatetime()
    if isinstance(t, _dt.datetime):
        return str(int(round(t.timestamp() * 1000)))
    if isinstance(t, _dt.date):
        return str(int(round(_dt.datetime(t.year, t.month, t.day).timestamp() * 1000)))
    raise TypeError(f"a time must be epoch milliseconds, a datetime or an ISO 8601 string, not {type(t).__name__}")


def _now_ms() -> int:
    return int(_time.time() * 1000)


class Pipeline(Resource):
    """A pipeline: a draft of steps you edit here, and the versions, deployment and logs the
    server keeps for its name.

    Get one with ``client.build_pipeline(name)`` (an empty draft) or ``client.get_pipeline(name)``
    (the draft starts as the latest version's steps). Editing the draft changes nothing on
    the server; ``create()`` or ``deploy()`` sends it, and the server makes a new pipeline
    version only when the steps differ from the latest one, so re-running a notebook does not
    pile up versions.
    """

    def __init__(self, client: "Client", name: str, steps: Optional[Sequence[Step]] = None,
                 summary: Optional[dict[str, Any]] = None) -> None:
        self._client = client
        self.name = name
        # None: not loaded yet; the latest version's steps are read on first use.
        self._steps: Optional[list[Step]] = None if steps is None else list(steps)
        # Carried over from the version the draft was loaded from, so editing steps keeps them.
        self._validations: dict[str, str] = {}
        self._summary = summary or {}
        self._raw = dict(self._summary) or {"name": name}

    # -- the draft -------------------------------------------------------------------------

    def _draft(self) -> list[Step]:
        if self._steps is None:
            try:
                latest = self.version()
                self._validations = dict(latest.validations)
                self._steps = [
                    ModelStep(s.model, s.model_version) if s.kind == "model" and s.model else ServerStep(s)
                    for s in latest.steps
                ]
            except NotFound:
                self._steps = []
        return self._steps

    @property
    def steps(self) -> tuple[Step, ...]:
        """The draft's steps, in order."""
        return tuple(self._draft())

    def add_model_step(self, model: ModelLike, version: Optional[int] = None) -> "Pipeline":
        """Appends a step running ``model`` and returns this pipeline (calls chain).

        Args:
            model: a :class:`ModelVersion` (that exact version), a :class:`Model` or a model
                name (its latest version when the pipeline version is created, or ``version``).
            version: pins a model version when ``model`` is a Model or a name.
        """
        self._draft().append(_model_step(model, version))
        return self

    def replace_with_model_step(self, index: int, model: ModelLike, version: Optional[int] = None) -> "Pipeline":
        """Replaces the step at ``index`` with a step running ``model``; returns this pipeline."""
        steps = self._draft()
        steps[index] = _model_step(model, version)
        return self

    def remove_step(self, index: int) -> "Pipeline":
        """Removes the step at ``index``; returns this pipeline."""
        del self._draft()[index]
        return self

    def add_ab_step(self, arms: Sequence[Union[ModelLike, tuple[ModelLike, Optional[float]]]], key: Optional[str] = None,
                    mapping: Optional[Mapping[Any, str]] = None, default: Optional[str] = None,
                    split: Optional[str] = None) -> "Pipeline":
        """Appends an A/B step and returns this pipeline.

        Args:
            arms: models (a :class:`ModelVersion`, :class:`Model` or name) or ``(model, weight)``
                pairs; weights default to equal.
            key: ``metadata.<name>`` or ``in.<input>``: rows with the same value go to the same
                arm (hashed), or, with ``mapping``, to the arm their value maps to.
            mapping: key value -> arm (``"model"`` or ``"model:version"``).
            default: the arm for values ``mapping`` does not name.
            split: ``"random"`` or ``"key"``; the server infers it from ``key`` when omitted.
        """
        if not arms:
            raise ValueError("an A/B step needs at least one arm")
        if mapping is not None and key is None:
            raise ValueError("mapping needs a key (metadata.<name> or in.<input>)")
        self._draft().append(ABStep(tuple(_arm(a) for a in arms), key, split,
                                    None if mapping is None else {str(k): str(v) for k, v in mapping.items()}, default))
        return self

    def add_shadow_step(self, champion: ModelLike, challengers: Sequence[ModelLike]) -> "Pipeline":
        """Appends a shadow step (``champion`` answers, ``challengers`` are only logged); returns this pipeline."""
        if isinstance(challengers, (str, Model, ModelVersion)):
            challengers = [challengers]
        if not challengers:
            raise ValueError("a shadow step needs at least one challenger")
        self._draft().append(ShadowStep(_model_step(champion, None), tuple(_model_step(c, None) for c in challengers)))
        return self

    def add_validation(self, name: str, expression: str) -> "Pipeline":
        """Adds (or replaces) a validation rule, e.g. ``add_validation("confident",
        "out.probabilities[1] >= 0.9 or out.probabilities[1] <= 0.1")``; returns this pipeline.

        Rows that break a rule still get their answer, flagged in ``anomaly.*`` columns. The
        server parses and type-checks the expression when the version is created.
        """
        self._draft()
        self._validations[name] = expression
        return self

    def remove_validation(self, name: str) -> "Pipeline":
        """Removes a validation rule from the draft; returns this pipeline."""
        self._draft()
        self._validations.pop(name, None)
        return self

    @property
    def validations(self) -> dict[str, str]:
        """The draft's validation rules (name -> expression)."""
        self._draft()
        return dict(self._validations)

    def clear(self) -> "Pipeline":
        """Removes every step from the draft (validation rules it was loaded with stay); returns this pipeline."""
        self._steps = []
        return self

    def _definition(self) -> dict[str, Any]:
        """The body of ``POST /v1/pipelines`` for the draft."""
        body: dict[str, Any] = {"name": self.name, "steps": [s.to_json() for s in self._draft()]}
        if self._validations:
            body["validations"] = dict(self._validations)
        return body

    # -- versions and deployment -----------------------------------------------------------

    def create(self) -> PipelineVersion:
        """Sends the draft: a new pipeline version when the steps changed, else the latest one
        (``created`` tells which)."""
        draft = self._draft()
        if any(isinstance(s, ServerStep) for s in draft):
            latest = self.version()
            if _same_steps(draft, latest.steps) and self._validations == latest.validations:
                latest.created = False
                return latest
        d = self._client._http.json("POST", "/v1/pipelines", json_body=self._definition())
        return PipelineVersion.from_json(d, self._client)

    def versions(self) -> PipelineVersionList:
        """Every version of this pipeline, oldest first."""
        d = self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}/versions")
        return PipelineVersionList(PipelineVersion.from_json(v, self._client) for v in d.get("versions", []))

    def version(self, version: Optional[int] = None) -> PipelineVersion:
        """One version of this pipeline; the latest when ``version`` is None."""
        if version is None:
            d = self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}")
            return PipelineVersion.from_json(d["latest"], self._client)
        d = self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}/versions/{int(version)}")
        return PipelineVersion.from_json(d, self._client)

    def deploy(self, replicas: Optional[int] = None, threads: Optional[int] = None,
               version: Optional[int] = None) -> "Pipeline":
        """Deploys the pipeline and returns it once it answers inferences.

        With a draft of steps, the draft is created first (a new version only when it
        changed) and that version is deployed; with ``version``, that version is deployed; with
        neither, the latest version. Deploying again with another version or config switches
        traffic without dropping requests.

        Args:
            replicas: loaded instances of every model (the server's default is 1).
            threads: threads each instance may use for one prediction (default 1).
            version: a pipeline version to deploy instead of the draft.
        """
        if version is None and self._steps:
            version = self.create().version
        self._client._deploy(self.name, version=version, replicas=replicas, threads=threads)
        return self

    def undeploy(self) -> "Pipeline":
        """Stops serving the pipeline (its versions and logs stay); returns this pipeline."""
        self._client._http.json("POST", f"/v1/pipelines/{segment(self.name)}/undeploy", json_body={})
        return self

    def status(self) -> Deployment:
        """The deployment state: running / loading / failed / undeployed, version and configuration."""
        return Deployment.from_json(self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}/deployment"))

    def signature(self) -> Signature:
        """The inputs and outputs inference takes and returns: the deployed version's (the
        latest version's when not deployed), read from the OIP model metadata."""
        d = self._client._http.json("GET", f"/v2/models/{segment(self.name)}")
        return Signature.from_json(d)

    def swap(self, step: int, model: ModelLike, version: Optional[int] = None,
             replace: Optional[str] = None) -> Deployment:
        """Hot swap / promote: makes a new pipeline version with ``step`` (1-based) run ``model``
        (or, with ``replace``, one arm, champion or challenger of an A/B or shadow step, named
        ``"model"`` or ``"model:version"``) and deploys it in place without dropping requests.

        Returns:
            The deployment, with ``swap_ms`` (how long until the new version answered).
        """
        ref = _model_step(model, version)
        body: dict[str, Any] = {"step": int(step), "model": ref.model}
        if ref.version is not None:
            body["version"] = ref.version
        if replace is not None:
            body["replace"] = replace
        d = self._client._http.json("POST", f"/v1/pipelines/{segment(self.name)}/swap", json_body=body)
        self._steps = None  # the draft reloads from the new latest version
        return Deployment.from_json(d)

    def compare(self, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None,
                monitor: Optional[str] = None) -> pd.DataFrame:
        """Per answering model path and per shadow challenger, a summary of the logs: one row
        per group with ``role``, ``models``, ``pipeline_versions``, ``rows``,
        ``validation_failure_rate``, ``errors``, ``latency_ms.p50/p95/p99`` and, per output
        (element-wise for tensors: ``out.probabilities[1]``), ``out.<output>.count/mean/std/min/p25/p50/p75/max``.
        With ``monitor`` (a saved performance monitor of this pipeline), ``performance.<metric>``,
        ``performance.labelled`` and ``performance.coverage`` from the labels: a winner on outcomes."""
        self._flush_logs()
        d = self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}/compare",
                                    params={"start": time_param(start), "end": time_param(end), "monitor": monitor})
        return _compare_frame(d.get("groups", []))

    # -- ground truth ----------------------------------------------------------------------

    def add_feedback(self, df: pd.DataFrame, key: str = "request_id",
                     label: Optional[Union[str, Sequence[str]]] = None) -> dict[str, Any]:
        """Uploads ground-truth labels for logged predictions.

        Args:
            df: one row per label: the key column(s) and the label column(s).
            key: ``"request_id"`` (columns ``request_id`` and ``row``, the row within the request),
                ``"metadata.<field>"`` or just ``"<field>"`` (a caller's id logged as request
                metadata, e.g. ``metadata={"transaction_id": [...]}`` when inferring; column ``<field>``).
            label: the label column(s) (default: every column but the key).

        Returns:
            The receipt: ``received``, ``matched``, ``unmatched`` (listed by
            :meth:`unmatched_feedback`), ``replaced`` (earlier labels for the same keys, kept as history).
        """
        if key != "request_id" and not key.startswith("metadata."):
            key = f"metadata.{key}"
        labels = [label] if isinstance(label, str) else list(label or [])
        key_columns = ["request_id", "row"] if key == "request_id" else [key[len("metadata."):]]
        columns = [c for c in df.columns if c in key_columns] + labels if labels else list(df.columns)
        records = json.loads(df[columns].to_json(orient="records"))
        return self._client._http.json("POST", f"/v1/pipelines/{segment(self.name)}/feedback", json_body=records,
                                       params={"key": key, "label": ",".join(labels) or None})

    def unmatched_feedback(self, limit: Optional[int] = None) -> pd.DataFrame:
        """Labels no logged prediction has the key of (yet): ``key``, ``received_at`` and the labels."""
        d = self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}/feedback/unmatched", params={"limit": limit})
        return pd.DataFrame([{"key": l["key"], "received_at": pd.to_datetime(l["received_at"], utc=True), **l["labels"]}
                             for l in d.get("labels", [])])

    # -- inference -------------------------------------------------------------------------

    @overload
    def infer(self, data: pd.DataFrame, *, batch_size: Optional[int] = ..., progress: Optional[bool] = ...,
              metadata: Optional[Mapping[str, Any]] = ..., transport: Transport = ...,
              timeout: Optional[float] = ...) -> pd.DataFrame: ...

    @overload
    def infer(self, data: Mapping[str, Any], *, batch_size: Optional[int] = ..., progress: Optional[bool] = ...,
              metadata: Optional[Mapping[str, Any]] = ..., transport: Transport = ...,
              timeout: Optional[float] = ...) -> dict[str, np.ndarray]: ...

    def infer(self, data: Any, *, batch_size: Optional[int] = None, progress: Optional[bool] = None,
              metadata: Optional[Mapping[str, Any]] = None, transport: Transport = "auto",
              timeout: Optional[float] = None) -> Union[pd.DataFrame, dict[str, np.ndarray]]:
        """Runs the deployed pipeline over ``data``.

        Args:
            data: a DataFrame (or an Arrow table), or a dict of input name -> numpy array.
                DataFrame columns named after the pipeline's inputs (or ``in.<input>``) hold
                scalars or arrays; a pipeline with one input also takes plain feature columns,
                which are stacked, in order, into that input (a scikit-learn ``X`` works).
            batch_size: rows per request (default: up to 5,000 rows and 16 MiB per request).
            progress: show a progress bar (tqdm); by default only when there is more than one batch.
            metadata: values logged with every row as ``metadata.<key>``; a list with one value per row
                (a caller's id per row, the key ground-truth labels can use) is split with the rows.
            transport: ``"auto"`` sends frames of up to 100 rows as records JSON (the server's
                own ``time`` comes back) and larger ones as binary tensors (the Open Inference
                Protocol's binary extension, exact and compact); ``"binary"`` or ``"records"`` forces one.
            timeout: seconds to wait for each request (default: the client's).

        Returns:
            For a DataFrame, a DataFrame with the same index and columns ``time`` (epoch ms),
            ``in.<input>`` and ``out.<output>``; cells of array-valued tensors hold numpy arrays.
            For a dict, a dict of output name -> numpy array.

        Raises:
            InvalidInput: a missing or unknown column, a value of the wrong type or shape.
            NotFound: no such pipeline. Conflict: the pipeline is not deployed.
        """
        as_frame = True
        index: Optional[pd.Index] = None
        if isinstance(data, pd.DataFrame):
            index = data.index
        elif isinstance(data, Mapping):
            as_frame = False
        elif hasattr(data, "to_pandas") and hasattr(data, "schema"):  # pyarrow Table / RecordBatch
            data = data.to_pandas()
        else:
            raise TypeError(f"infer takes a DataFrame, an Arrow table or a dict of numpy arrays, not {type(data).__name__}")
        if transport not in ("auto", "binary", "records"):
            raise ValueError(f"transport must be 'auto', 'binary' or 'records', not {transport!r}")
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be at least 1")

        sig = self.signature()
        if as_frame:
            tensors = _tensors.tensors_from_frame(data, sig.inputs, self.name)
        else:
            tensors = _tensors.tensors_from_dict(data, sig.inputs, self.name)
        rows = _tensors.row_count(tensors, sig.inputs, self.name)
        splittable = all(s.batched for s in sig.inputs)

        use_records = transport == "records"
        if transport == "auto":
            exact = _tensors.json_exact(tensors)
            small = rows <= RECORDS_MAX_ROWS
            use_records = splittable and exact and (small or not self._client._binary_supported())
        if use_records and not splittable:
            raise InvalidInput(f"input of pipeline '{self.name}' has no batch dimension; records need one", "INVALID_REQUEST")

        if not splittable:
            size = rows
        elif batch_size is not None:
            size = batch_size
        else:
            row_bytes = sum(max(1, a.nbytes // max(1, a.shape[0])) for a in tensors.values())
            size = max(1, min(DEFAULT_BATCH_ROWS, MAX_BATCH_BYTES // row_bytes))
        starts = list(range(0, rows, size))
        show = progress if progress is not None else len(starts) > 1

        times: list[np.ndarray] = []
        outputs: dict[str, list[np.ndarray]] = {}
        anomalies: dict[str, list[np.ndarray]] = {}
        rules: Optional[list[str]] = None
        bar = None
        if show:
            bar = _progress_bar()(total=rows, unit="rows", desc=f"infer {self.name}")
        try:
            for k, start in enumerate(starts):
                stop = min(rows, start + size)
                batch = {n: a[start:stop] for n, a in tensors.items()} if splittable else tensors
                meta = _batch_metadata(metadata, rows, start, stop) if splittable else metadata
                try:
                    if use_records:
                        t, outs, flags = self._infer_records(batch, sig, stop - start, meta, timeout)
                    else:
                        t, outs, broken = self._infer_binary(batch, sig, stop - start, meta, timeout)
                        flags = {}
                        if broken is not None:
                            if rules is None:
                                rules = self._rules()
                            flags = _anomaly_columns(broken, rules, stop - start)
                except BettongError as e:
                    if len(starts) == 1:
                        raise
                    where = f"batch {k + 1} of {len(starts)} (rows {start}-{stop - 1}; the rows before it were inferred)"
                    raise type(e)(f"{where}: {e.message}", e.code, e.status) from None
                times.append(t)
                for name, arr in flags.items():
                    anomalies.setdefault(name, []).append(arr)
                for name, arr in outs.items():
                    outputs.setdefault(name, []).append(_tensors.per_row(arr, stop - start) if as_frame else arr)
                if bar is not None:
                    bar.update(stop - start)
        finally:
            if bar is not None:
                bar.close()

        if as_frame:
            merged = {n: _concat(parts) for n, parts in outputs.items()}
            frame = _tensors.results_frame(np.concatenate(times), tensors, merged, index)
            if anomalies and all(len(parts) == len(times) for parts in anomalies.values()):
                for col in sorted(anomalies, key=lambda c: (c != "anomaly.count", 0)):
                    frame[col] = np.concatenate(anomalies[col])
            return frame
        return {n: _concat(parts) for n, parts in outputs.items()}

    def _rules(self) -> list[str]:
        """The names of the deployed version's validation rules, in the server's order."""
        try:
            deployed = self.status().pipeline_version
            return list(self.version(deployed).validations)
        except BettongError:
            return []

    def _infer_binary(self, batch: _tensors.Tensors, sig: Signature, rows: int, metadata: Optional[Mapping[str, Any]],
                      timeout: Optional[float]) -> tuple[np.ndarray, _tensors.Tensors, Optional[list[list[str]]]]:
        body, header_length = _tensors.encode_binary_request(batch, sig.inputs, metadata or {}, str(uuid.uuid4()))
        sent = _now_ms()
        resp = self._client._http.request(
            "POST", f"/v2/models/{segment(self.name)}/infer", content=body, timeout=timeout,
            headers={"content-type": "application/octet-stream", "inference-header-content-length": str(header_length)},
        )
        length = resp.headers.get("inference-header-content-length")
        head, outs = _tensors.decode_infer_response(resp.content, int(length) if length is not None else None)
        # OIP answers carry no time; should the server add one as a response parameter, it wins.
        server_time = (head.get("parameters") or {}).get("time")
        t = int(server_time) if isinstance(server_time, (int, float)) and not isinstance(server_time, bool) else sent
        # Pipelines with validations answer, per row, the names of the rules it broke.
        broken = (head.get("parameters") or {}).get("anomalies")
        if not isinstance(broken, list) or len(broken) != rows:
            broken = None
        return np.full(rows, t, dtype=np.int64), outs, broken

    def _infer_records(self, batch: _tensors.Tensors, sig: Signature, rows: int, metadata: Optional[Mapping[str, Any]],
                       timeout: Optional[float]) -> tuple[np.ndarray, _tensors.Tensors, dict[str, np.ndarray]]:
        names = [s.name for s in sig.inputs]
        columns = [_tensors.to_json_values(batch[n]) for n in names]
        records = [dict(zip(names, values)) for values in zip(*columns)]
        body: Any = {"records": records, "metadata": dict(metadata)} if metadata else records
        answer = self._client._http.json("POST", f"/v1/pipelines/{segment(self.name)}/infer", json_body=body,
                                         timeout=timeout)
        times = np.asarray([r.get("time", 0) for r in answer], dtype=np.int64)
        outs: _tensors.Tensors = {}
        for spec in sig.outputs:
            key = f"out.{spec.name}"
            if answer and key in answer[0]:
                outs[spec.name] = _json_column([r.get(key) for r in answer], spec)
        flags: dict[str, np.ndarray] = {}
        if answer:
            for key in answer[0]:
                if key == "anomaly.count":
                    flags[key] = np.asarray([r.get(key, 0) for r in answer], dtype=np.int32)
                elif key.startswith("anomaly."):
                    flags[key] = np.asarray([bool(r.get(key, False)) for r in answer], dtype=bool)
        return times, outs, flags

    def infer_from_file(self, path: Union[str, os.PathLike[str]], *, format: Optional[str] = None,
                        **kwargs: Any) -> pd.DataFrame:
        """Reads a CSV, JSON (records, or JSON Lines), Arrow IPC (file or stream) or Parquet
        file into a DataFrame and infers on it (see :meth:`infer` for ``kwargs``).

        Args:
            path: the file; its extension picks the format unless ``format`` is given
                (``csv``, ``json``, ``jsonl``, ``arrow``, ``parquet``).
        """
        df = _files.read_frame(path, format)
        result = self.infer(df, **kwargs)
        assert isinstance(result, pd.DataFrame)
        return result

    # -- inference logs --------------------------------------------------------------------

    def _flush_logs(self) -> None:
        # The server writes inference logs in batches every 100 ms and its paged logs route does
        # not wait for them, so rows inferred a moment ago would be missing. Its export route
        # flushes first: asking it for an empty range makes the next page read what was just
        # inferred. Harmless, and redundant once the logs route flushes too.
        with self._client._http.stream("GET", f"/v1/pipelines/{segment(self.name)}/logs/export",
                                       params={"start": "0", "end": "1"}) as resp:
            resp.read()

    def logs(self, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None,
             limit: Optional[int] = 100, anomaly: Optional[bool] = None) -> pd.DataFrame:
        """Inference log rows as a DataFrame: ``time`` (epoch ms), ``in.*``, ``out.*``, ``metadata.*``.

        Without ``start``/``end`` the newest rows come first; with a range, rows are in
        chronological order. Pages are read until ``limit`` rows are in hand.

        Args:
            start: first time included (epoch ms, datetime, Timestamp or ISO 8601).
            end: first time excluded.
            limit: most rows to return (default 100); ``None`` reads every matching row.
            anomaly: ``True``: only rows that broke a validation rule; ``False``: only rows that
                broke none; ``None`` (default): every row.
        """
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 (or None for every row)")
        self._flush_logs()
        base: dict[str, Any] = {"start": time_param(start), "end": time_param(end)}
        if anomaly is not None:
            base["anomaly"] = "true" if anomaly else "false"
        records: list[dict[str, Any]] = []
        cursor: Optional[str] = None
        while True:
            page_limit = MAX_LOG_PAGE if limit is None else min(MAX_LOG_PAGE, limit - len(records))
            page = self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}/logs",
                                           params={**base, "limit": page_limit, "cursor": cursor})
            records.extend(page.get("records", []))
            cursor = page.get("next_cursor")
            if not cursor or (limit is not None and len(records) >= limit):
                break
        return self._logs_frame(records)

    def _logs_frame(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        if not records:
            return pd.DataFrame({"time": pd.Series([], dtype=np.int64)})
        df = pd.DataFrame.from_records(records)
        df["time"] = df["time"].astype(np.int64)
        if "metadata.pipeline_version" not in df.columns:
            return df
        try:
            signatures = {v.version: v.signature for v in self.versions()}
        except BettongError:
            return df
        for version, positions in df.groupby("metadata.pipeline_version").indices.items():
            sig = signatures.get(int(str(version)))
            if sig is None:
                continue
            for prefix, specs in (("in.", sig.inputs), ("out.", sig.outputs)):
                for spec in specs:
                    col = prefix + spec.name
                    if col not in df.columns:
                        continue
                    try:
                        values = _json_column(df[col].iloc[positions].tolist(), spec)
                    except (TypeError, ValueError):
                        continue
                    cells = _tensors.per_row(values, len(positions))
                    if len(positions) == len(df):
                        df[col] = cells
                    else:
                        df[col] = df[col].astype(object)
                        at = list(df.columns).index(col)
                        for p, cell in zip(positions, cells):
                            df.iat[int(p), at] = cell
        return df

    def export_logs(self, path: Union[str, os.PathLike[str]], start: Optional[TimeLike] = None,
                    end: Optional[TimeLike] = None) -> int:
        """Streams every matching log row (chronological) to ``path`` as JSON Lines; returns the row count."""
        n = 0
        with self._client._http.stream("GET", f"/v1/pipelines/{segment(self.name)}/logs/export",
                                       params={"start": time_param(start), "end": time_param(end)}) as resp, \
                open(path, "wb") as f:
            for chunk in resp.iter_bytes():
                f.write(chunk)
                n += chunk.count(b"\n")
        return n

    # -- display ---------------------------------------------------------------------------

    def _title(self) -> str:
        return f"Pipeline {self.name}"

    def _fields(self) -> dict[str, Any]:
        f: dict[str, Any] = {"name": self.name}
        latest_steps: Optional[list[PipelineStep]] = None
        try:
            d = self._client._http.json("GET", f"/v1/pipelines/{segment(self.name)}")
            latest = PipelineVersion.from_json(d["latest"])
            dep = Deployment.from_json(d["deployment"])
            latest_steps = list(latest.steps)
            f.update({
                "latest_version": latest.version, "versions": d.get("versions"),
                "steps": [str(s) for s in latest.steps],
                "inputs": [str(s) for s in latest.signature.inputs],
                "outputs": [str(s) for s in latest.signature.outputs],
                "status": dep.status, "deployed_version": dep.pipeline_version,
            })
            if dep.config:
                f.update(dep.config)
            if dep.error:
                f["error"] = dep.error
        except NotFound:
            f["status"] = "not created yet: create() or deploy() makes version 1"
        except BettongError as e:
            f["status"] = f"unavailable ({e})"
        if self._steps is not None and not _same_steps(self._steps, latest_steps):
            f["draft steps"] = [str(s) for s in self._steps] or "(none)"
        return f

    def _row(self) -> dict[str, Any]:
        s = self._summary
        return {"name": self.name, "latest_version": s.get("latest_version"), "status": s.get("status"),
                "deployed_version": s.get("deployed_version"), "created_at": s.get("created_at")}


def _progress_bar() -> Any:
    """tqdm's notebook widget inside Jupyter when ipywidgets is installed, else its text bar
    (tqdm.auto would warn about the missing widgets on every call)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        in_kernel = shell is not None and "IPKernelApp" in shell.config
    except ImportError:
        in_kernel = False
    if in_kernel:
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm
        except ImportError:
            pass
    from tqdm import tqdm

    return tqdm


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    try:
        return np.concatenate(parts)
    except ValueError:
        out = np.empty(len(parts), dtype=object)
        for i, p in enumerate(parts):
            out[i] = p
        return out


def _json_column(values: list[Any], spec: TensorSpec) -> np.ndarray:
    """JSON values of one tensor, one per row, as an array of the tensor's dtype."""
    return np.asarray(values, dtype=spec.numpy_dtype)


def _anomaly_columns(broken: list[Any], rules: Sequence[str], rows: int) -> dict[str, np.ndarray]:
    """``anomaly.count`` and ``anomaly.<rule>`` columns from per-row lists of broken rule names
    (the OIP answer's ``parameters.anomalies``), as the records route writes them."""
    sets = [set(b) if isinstance(b, list) else set() for b in broken]
    cols: dict[str, np.ndarray] = {"anomaly.count": np.asarray([len(b) for b in sets], dtype=np.int32)}
    names = list(rules) + sorted({n for b in sets for n in b} - set(rules))
    for name in names:
        cols[f"anomaly.{name}"] = np.asarray([name in b for b in sets], dtype=bool)
    return cols


def _batch_metadata(metadata: Optional[Mapping[str, Any]], rows: int, start: int, stop: int) -> Optional[Mapping[str, Any]]:
    """A batch's metadata: a list with one value per row of the whole frame (a caller's id per row,
    the key ground-truth labels name rows by) is cut to the batch's rows; other values go whole."""
    if not metadata:
        return metadata
    return {k: (list(v)[start:stop] if isinstance(v, (list, tuple, np.ndarray, pd.Series)) and len(v) == rows else v)
            for k, v in metadata.items()}


def _compare_frame(groups: list[dict[str, Any]]) -> pd.DataFrame:
    """The compare route's groups as one flat row each."""
    rows = []
    for g in groups:
        row: dict[str, Any] = {
            "role": g.get("role"), "models": g.get("models"), "pipeline_versions": g.get("pipeline_versions"),
            "rows": g.get("rows"), "validation_failure_rate": g.get("validation_failure_rate"), "errors": g.get("errors"),
        }
        latency = g.get("latency_ms") or {}
        for q in ("p50", "p95", "p99"):
            row[f"latency_ms.{q}"] = latency.get(q)
        for col, summary in (g.get("outputs") or {}).items():
            prefix = col if col.startswith(("out.", "in.")) else f"out.{col}"
            for stat, v in (summary or {}).items():
                row[f"{prefix}.{stat}"] = v
        perf = g.get("performance")
        if perf:
            row["performance.labelled"] = perf.get("labelled")
            row["performance.coverage"] = perf.get("coverage")
            for k, v in (perf.get("metrics") or {}).items():
                row[f"performance.{k}"] = v
        rows.append(row)
    base = ["role", "models", "pipeline_versions", "rows", "validation_failure_rate", "errors",
            "latency_ms.p50", "latency_ms.p95", "latency_ms.p99"]
    extra = dict.fromkeys(c for r in rows for c in r if c not in base)
    return pd.DataFrame(rows, columns=base + list(extra))


def _same_steps(draft: Sequence[Step], latest: Optional[Sequence[PipelineStep]]) -> bool:
    """Whether creating the draft would (most likely) give back the latest version."""
    if latest is None or len(draft) != len(latest):
        return False
    return all(
        (isinstance(d, ModelStep) and s.kind == "model" and d.model == s.model and d.version in (None, s.model_version))
        or (isinstance(d, ServerStep) and d.step.to_dict() == s.to_dict())
        for d, s in zip(draft, latest)
    )


class PipelineList(ResourceList[Pipeline]):
    """Pipelines, by name, with their deployment state."""

    title = "pipelines"
    columns = ("name", "latest_version", "status", "deployed_version", "created_at")
