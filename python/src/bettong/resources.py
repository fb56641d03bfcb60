"""
What the server knows, as Python objects: models, model versions, pipeline versions,
deployments and their lists. Each has a readable ``repr`` and an HTML table for Jupyter;
lists turn into DataFrames with ``to_dataframe()``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, List, Optional, TypeVar, Union

import numpy as np
import pandas as pd

from . import _display

if TYPE_CHECKING:
    from .client import Client

__all__ = [
    "TensorSpec",
    "Signature",
    "ModelVersion",
    "Model",
    "PipelineStep",
    "PipelineVersion",
    "Deployment",
    "ResourceList",
    "ModelList",
    "ModelVersionList",
    "PipelineVersionList",
    "DeploymentList",
]

# OIP datatype -> numpy dtype (BYTES travel as Python str in object arrays).
NUMPY_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model or pipeline: name, OIP datatype and shape (-1: any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TensorSpec":
        """Builds a spec from the server's ``{"name", "datatype", "shape"}``."""
        return cls(str(d["name"]), str(d["datatype"]), tuple(int(x) for x in d.get("shape", [])))

    @property
    def numpy_dtype(self) -> np.dtype:
        """The numpy dtype this datatype maps to (``object`` holding ``str`` for BYTES)."""
        try:
            return NUMPY_DTYPES[self.datatype]
        except KeyError:
            raise ValueError(f"tensor '{self.name}' has datatype {self.datatype}, which this SDK does not know") from None

    @property
    def row_shape(self) -> tuple[int, ...]:
        """The shape of one row: the shape without its first (batch) dimension."""
        return self.shape[1:]

    @property
    def batched(self) -> bool:
        """Whether the first dimension is the (variable) batch dimension."""
        return len(self.shape) > 0 and self.shape[0] < 0

    def __str__(self) -> str:
        return f"{self.name} {self.datatype}[{','.join(str(d) for d in self.shape)}]"


@dataclass(frozen=True)
class Signature:
    """The inputs and outputs of a model version or pipeline version."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Signature":
        """Builds a signature from the server's ``{"inputs": [...], "outputs": [...]}``."""
        return cls(
            tuple(TensorSpec.from_json(x) for x in d.get("inputs", [])),
            tuple(TensorSpec.from_json(x) for x in d.get("outputs", [])),
        )

    def __str__(self) -> str:
        return f"({', '.join(map(str, self.inputs))}) -> ({', '.join(map(str, self.outputs))})"


class Resource:
    """Base of the SDK's objects: a text and an HTML rendering, and the server's JSON."""

    _raw: dict[str, Any]

    def _title(self) -> str:
        raise NotImplementedError

    def _fields(self) -> dict[str, Any]:
        """Every field worth showing for one object."""
        raise NotImplementedError

    def _row(self) -> dict[str, Any]:
        """This object as one row of a list's table (short values)."""
        return self._fields()

    def _record(self) -> dict[str, Any]:
        """This object as one row of a DataFrame (full values)."""
        return self._row()

    def to_dict(self) -> dict[str, Any]:
        """The object as the server sent it (JSON-compatible)."""
        return dict(self._raw)

    def __repr__(self) -> str:
        return _display.kv_text(self._title(), self._fields())

    def _repr_html_(self) -> str:
        return _display.kv_html(self._title(), self._fields())


T = TypeVar("T", bound=Resource)


class ResourceList(List[T]):
    """A list of SDK objects that shows as a table and turns into a DataFrame."""

    title: ClassVar[str] = "items"
    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, items: Iterable[T] = ()) -> None:
        super().__init__(items)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per item, with full values (timestamps as pandas datetimes)."""
        df = pd.DataFrame([item._record() for item in self], columns=list(self.columns) if not self else None)
        for col in ("created_at", "updated_at"):
            if col in df.columns:
                df[col] = pd.to_datetime(df[col], utc=True)
        return df

    def _rows(self) -> list[dict[str, Any]]:
        return [item._row() for item in self]

    def __repr__(self) -> str:
        return _display.table_text(f"{len(self)} {self.title}", self.columns, self._rows())

    def _repr_html_(self) -> str:
        return _display.table_html(f"{len(self)} {self.title}", self.columns, self._rows())


def _attached(client: Optional["Client"], obj: object) -> "Client":
    if client is None:
        raise RuntimeError(f"this {type(obj).__name__} was built by hand, not by a bettong.Client; it cannot call the server")
    return client


@dataclass(repr=False, eq=False)
class ModelVersion(Resource):
    """One uploaded artifact of a model: content-addressed (sha256), with its signature.

    ``created`` is set on the answer to an upload: ``True`` for a new version, ``False`` when
    identical content was already registered (the existing version is returned).
    """

    model: str
    version: int
    sha256: str
    size: int
    runtime: str
    platform: str
    signature: Signature
    created_at: str
    created: Optional[bool] = None
    _client: Optional["Client"] = field(default=None, compare=False)
    _raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any], client: Optional["Client"] = None) -> "ModelVersion":
        """Builds a model version from the server's JSON."""
        return cls(
            model=d["model"], version=int(d["version"]), sha256=d["sha256"], size=int(d["size"]),
            runtime=d.get("runtime", ""), platform=d.get("platform", ""),
            signature=Signature.from_json(d.get("signature", {})), created_at=d.get("created_at", ""),
            created=d.get("created"), _client=client, _raw=d,
        )

    @property
    def name(self) -> str:
        """The model's name (same as ``model``)."""
        return self.model

    def download(self, path: Union[str, os.PathLike[str], None] = None) -> Union[bytes, Path]:
        """The artifact's bytes, or writes them to ``path`` and returns that path."""
        return _attached(self._client, self).download_model(self.model, self.version, path)

    def _title(self) -> str:
        return f"ModelVersion {self.model} v{self.version}"

    def _fields(self) -> dict[str, Any]:
        f: dict[str, Any] = {
            "model": self.model, "version": self.version, "sha256": self.sha256, "size": f"{self.size:,} bytes",
            "runtime": self.runtime, "platform": self.platform,
            "inputs": [str(s) for s in self.signature.inputs], "outputs": [str(s) for s in self.signature.outputs],
            "created_at": self.created_at,
        }
        if self.created is not None:
            f["created"] = self.created
        return f

    def _row(self) -> dict[str, Any]:
        f = self._fields()
        f["sha256"] = _display.short_sha(self.sha256)
        f.pop("created", None)
        return f

    def _record(self) -> dict[str, Any]:
        f = self._fields()
        f["size"] = self.size
        f["inputs"] = ", ".join(f["inputs"])
        f["outputs"] = ", ".join(f["outputs"])
        f.pop("created", None)
        return f


class ModelVersionList(ResourceList[ModelVersion]):
    """Versions of a model, oldest first."""

    title = "model versions"
    columns = ("model", "version", "sha256", "size", "runtime", "inputs", "outputs", "created_at")


@dataclass(repr=False, eq=False)
class Model(Resource):
    """A named model: its versions are uploads of artifacts under that name."""

    name: str
    created_at: str
    latest_version: int
    version_count: int
    _client: Optional["Client"] = field(default=None, compare=False)
    _versions: Optional[ModelVersionList] = field(default=None, compare=False)
    _raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_summary(cls, d: dict[str, Any], client: Optional["Client"] = None) -> "Model":
        """From an item of ``GET /v1/models``."""
        return cls(d["name"], d.get("created_at", ""), int(d["latest_version"]), int(d["versions"]), client, None, d)

    @classmethod
    def from_detail(cls, d: dict[str, Any], client: Optional["Client"] = None) -> "Model":
        """From ``GET /v1/models/{name}`` (the versions included)."""
        versions = ModelVersionList(ModelVersion.from_json(v, client) for v in d.get("versions", []))
        latest = max((v.version for v in versions), default=0)
        return cls(d["name"], d.get("created_at", ""), latest, len(versions), client, versions, d)

    def _api(self) -> "Client":
        return _attached(self._client, self)

    def versions(self) -> ModelVersionList:
        """Every version of this model, oldest first (read from the server)."""
        fresh = self._api().get_model(self.name)
        self._versions = fresh._versions
        self.latest_version, self.version_count = fresh.latest_version, fresh.version_count
        return fresh._versions if fresh._versions is not None else ModelVersionList()

    def version(self, version: Optional[int] = None) -> ModelVersion:
        """One version of this model; the latest when ``version`` is None."""
        return self._api().get_model_version(self.name, version)

    def download(self, path: Union[str, os.PathLike[str], None] = None, version: Optional[int] = None) -> Union[bytes, Path]:
        """The artifact of a version (the latest by default), as bytes or written to ``path``."""
        return self._api().download_model(self.name, version, path)

    def _title(self) -> str:
        return f"Model {self.name}"

    def _fields(self) -> dict[str, Any]:
        f: dict[str, Any] = {
            "name": self.name, "latest_version": self.latest_version, "versions": self.version_count,
            "created_at": self.created_at,
        }
        if self._versions:
            latest = self._versions[-1]
            f["sha256 (latest)"] = latest.sha256
            f["inputs"] = [str(s) for s in latest.signature.inputs]
            f["outputs"] = [str(s) for s in latest.signature.outputs]
        return f

    def _row(self) -> dict[str, Any]:
        return {"name": self.name, "latest_version": self.latest_version, "versions": self.version_count,
                "created_at": self.created_at}

    def _repr_html_(self) -> str:
        head = _display.kv_html(self._title(), self._fields())
        if self._versions:
            head += ModelVersionList(self._versions)._repr_html_()
        return head


class ModelList(ResourceList[Model]):
    """Models, by name."""

    title = "models"
    columns = ("name", "latest_version", "versions", "created_at")


def _models_in(value: Any) -> list[str]:
    """``name vN`` of every resolved model found in a step's JSON, in order."""
    if isinstance(value, dict):
        if "model" in value and "model_version" in value:
            return [f"{value['model']} v{value['model_version']}"]
        return [m for v in value.values() for m in _models_in(v)]
    if isinstance(value, list):
        return [m for v in value for m in _models_in(v)]
    return []


@dataclass(repr=False, eq=False)
class PipelineStep(Resource):
    """One step of a pipeline version, as the server resolved it.

    For a ``model`` step, ``model`` / ``model_version`` / ``sha256`` name the pinned model
    version. Other kinds (``ab``, ``shadow``, ...) are kept as the server sent them in
    ``to_dict()``; ``models`` lists every model version a step involves.
    """

    kind: str
    model: Optional[str]
    model_version: Optional[int]
    sha256: Optional[str]
    models: tuple[str, ...] = ()
    wiring: Optional[Any] = None
    _raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "PipelineStep":
        """Builds a step from the server's JSON (steps without a ``kind`` are model steps)."""
        kind = str(d.get("kind", "model"))
        body = {k: v for k, v in d.items() if k != "wiring"}
        mv = d.get("model_version")
        return cls(kind, d.get("model"), None if mv is None else int(mv), d.get("sha256"),
                   tuple(_models_in(body)), d.get("wiring"), d)

    def _title(self) -> str:
        return f"Step {self}"

    def _fields(self) -> dict[str, Any]:
        if self.kind == "model":
            return {"kind": self.kind, "model": self.model, "model_version": self.model_version, "sha256": self.sha256}
        return {"kind": self.kind, "models": list(self.models)}

    def __str__(self) -> str:
        if self.kind == "model":
            return f"{self.model} v{self.model_version}"
        return f"{self.kind}({', '.join(self.models)})"


@dataclass(repr=False, eq=False)
class PipelineVersion(Resource):
    """An immutable pipeline definition: ordered steps pinned to model versions, and its signature.

    ``validations`` holds the version's validation rules (name -> expression) as the server
    reports them; empty when it has none.

    ``created`` is set on the answer to a create: ``False`` when the steps were unchanged and
    the latest version was returned.
    """

    pipeline: str
    version: int
    steps: tuple[PipelineStep, ...]
    signature: Signature
    created_at: str
    created: Optional[bool] = None
    validations: dict[str, str] = field(default_factory=dict)
    _client: Optional["Client"] = field(default=None, compare=False)
    _raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any], client: Optional["Client"] = None) -> "PipelineVersion":
        """Builds a pipeline version from the server's JSON."""
        return cls(
            pipeline=d["pipeline"], version=int(d["version"]),
            steps=tuple(PipelineStep.from_json(s) for s in d.get("steps", [])),
            signature=Signature.from_json(d.get("signature", {})), created_at=d.get("created_at", ""),
            created=d.get("created"), validations=dict(d.get("validations") or {}), _client=client, _raw=d,
        )

    def deploy(self, replicas: Optional[int] = None, threads: Optional[int] = None) -> "Deployment":
        """Deploys exactly this version of the pipeline and returns the deployment's status."""
        return _attached(self._client, self)._deploy(self.pipeline, version=self.version, replicas=replicas, threads=threads)

    def _title(self) -> str:
        return f"PipelineVersion {self.pipeline} v{self.version}"

    def _fields(self) -> dict[str, Any]:
        f: dict[str, Any] = {
            "pipeline": self.pipeline, "version": self.version, "steps": [str(s) for s in self.steps],
            "inputs": [str(s) for s in self.signature.inputs], "outputs": [str(s) for s in self.signature.outputs],
            "created_at": self.created_at,
        }
        if self.validations:
            f["validations"] = [f"{k}: {v}" for k, v in self.validations.items()]
        if self.created is not None:
            f["created"] = self.created
        return f

    def _row(self) -> dict[str, Any]:
        f = self._fields()
        f.pop("created", None)
        f.pop("validations", None)
        return f

    def _record(self) -> dict[str, Any]:
        f = self._row()
        for k in ("steps", "inputs", "outputs"):
            f[k] = " -> ".join(f[k]) if k == "steps" else ", ".join(f[k])
        return f


class PipelineVersionList(ResourceList[PipelineVersion]):
    """Versions of a pipeline, oldest first."""

    title = "pipeline versions"
    columns = ("pipeline", "version", "steps", "inputs", "outputs", "created_at")


@dataclass(repr=False, eq=False)
class Deployment(Resource):
    """The deployment state of a pipeline: which version runs (if any) with what configuration.

    ``status`` is ``running``, ``loading`` (deployed through another server of a cluster, being
    loaded by this one), ``failed`` (stored as deployed but could not be loaded; see ``error``)
    or ``undeployed``. ``config`` holds the deployment configuration as the server
    reports it (``replicas``, ``threads``, and whatever it grows).
    """

    pipeline: str
    status: str
    pipeline_version: Optional[int]
    config: Optional[dict[str, Any]]
    updated_at: Optional[str]
    error: Optional[str] = None
    _raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Deployment":
        """Builds a deployment status from the server's JSON."""
        return cls(d["pipeline"], d.get("status", "undeployed"), d.get("pipeline_version"), d.get("config"),
                   d.get("updated_at"), d.get("error"), d)

    @property
    def running(self) -> bool:
        """Whether the pipeline answers inferences now."""
        return self.status == "running"

    @property
    def swap_ms(self) -> Optional[float]:
        """On the answer to a hot swap: milliseconds until the new version answered; else None."""
        v = self._raw.get("swap_ms")
        return None if v is None else float(v)

    @property
    def replicas(self) -> Optional[int]:
        """Loaded instances of every model, or None when not deployed."""
        return None if self.config is None else self.config.get("replicas")

    @property
    def threads(self) -> Optional[int]:
        """Threads each instance may use for one prediction, or None when not deployed."""
        return None if self.config is None else self.config.get("threads")

    def _title(self) -> str:
        return f"Deployment {self.pipeline}"

    def _fields(self) -> dict[str, Any]:
        f: dict[str, Any] = {"pipeline": self.pipeline, "status": self.status, "pipeline_version": self.pipeline_version}
        for k, v in (self.config or {}).items():
            f[k] = v
        f["updated_at"] = self.updated_at
        if self.error:
            f["error"] = self.error
        return f

    def _row(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "status": self.status, "pipeline_version": self.pipeline_version,
                "replicas": self.replicas, "threads": self.threads, "updated_at": self.updated_at, "error": self.error}


class DeploymentList(ResourceList[Deployment]):
    """Deployed pipelines, by name."""

    title = "deployments"
    columns = ("pipeline", "status", "pipeline_version", "replicas", "threads", "updated_at", "error")
