"""The Bettong client: the entry point of the SDK."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import IO, Any, Optional, Union, cast

from ._http import Http, segment
from .errors import BettongError, InvalidInput, NotFound
from .assay import Assay, AssayList
from .monitor import Monitor, MonitorList
from .pipeline import Pipeline, PipelineList
from .resources import Deployment, DeploymentList, Model, ModelList, ModelVersion

__all__ = ["Client", "DEFAULT_URL"]

#: Where the client looks when neither ``url`` nor ``$BETTONG_URL`` says otherwise.
DEFAULT_URL = "http://127.0.0.1:8080"

#: File suffixes uploaded as JavaScript/TypeScript step modules (``runtime="js"``).
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts")
#: File suffixes uploaded as Python models (``runtime="python"``): a model.py, or an archive holding one.
PYTHON_SUFFIXES = (".py", ".zip", ".tgz", ".gz", ".pkl", ".pickle", ".joblib", ".ubj")


def _pack_folder(folder: Path) -> bytes:
    """A Python model's folder as the .tar.gz the server unpacks (model.py at its top)."""
    if not (folder / "model.py").is_file():
        raise ValueError(f"{folder} holds no model.py: a Python model folder needs one")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for item in sorted(folder.iterdir()):
            if item.name != "__pycache__":
                tar.add(item, arcname=item.name, filter=lambda t: None if "__pycache__" in t.name else t)
    return buf.getvalue()


def _is_estimator(model: Any) -> bool:
    """A fitted scikit-learn estimator or Pipeline (anything with fit and predict), served as a pickle."""
    return callable(getattr(model, "predict", None)) and callable(getattr(model, "fit", None))


def _is_booster(model: Any) -> bool:
    """An xgboost.Booster (save_raw) or a lightgbm.Booster (model_to_string), served by the server's adapters."""
    return callable(getattr(model, "save_raw", None)) or callable(getattr(model, "model_to_string", None))


def _runtime_of(model: Any) -> Optional[str]:
    """The runtime a model implies: js for step modules; python for an estimator, model.py, a folder or an archive."""
    if _is_estimator(model) or _is_booster(model):
        return "python"
    if not isinstance(model, (str, os.PathLike)):
        return None
    path = Path(model)
    if path.is_dir():
        return "python"
    suffix = path.suffix.lower()
    return "js" if suffix in JS_SUFFIXES else "python" if suffix in PYTHON_SUFFIXES else None

ModelSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes], Any]


def _artifact_bytes(model: ModelSource) -> bytes:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        return _pack_folder(path) if path.is_dir() else path.read_bytes()
    if hasattr(model, "SerializeToString"):  # an onnx.ModelProto, straight from skl2onnx
        return cast(bytes, model.SerializeToString())
    if callable(getattr(model, "save_raw", None)):  # an xgboost.Booster, as UBJ
        return bytes(model.save_raw("ubj"))
    if callable(getattr(model, "model_to_string", None)):  # a lightgbm.Booster, as its model file
        return cast(str, model.model_to_string()).encode()
    if _is_estimator(model):  # served by the server's scikit-learn adapter, unpickled in its sandbox
        import joblib

        buf = io.BytesIO()
        joblib.dump(model, buf)
        return buf.getvalue()
    if hasattr(model, "read"):
        data = model.read()
        if not isinstance(data, bytes):
            raise TypeError("a model file object must be opened in binary mode ('rb')")
        return data
    raise TypeError(
        "upload_model takes a file path, bytes, a binary file object, an ONNX ModelProto or a fitted scikit-learn"
        f" estimator, not {type(model).__name__}"
    )


class Client:
    """A connection to a Bettong server.

    >>> client = bettong.Client()                        # $BETTONG_URL, else http://127.0.0.1:8080
    >>> client = bettong.Client("http://10.0.0.5:8080", token="...")

    Args:
        url: the server's base URL; defaults to ``$BETTONG_URL``, then ``http://127.0.0.1:8080``.
        token: an API token, sent as ``Authorization: Bearer <token>``; defaults to ``$BETTONG_TOKEN``.
        workspace: the workspace every call acts in, sent as the ``Bettong-Workspace`` header; defaults to
            ``$BETTONG_WORKSPACE``, then the server's default workspace.
        timeout: seconds to wait for any one request (inference batches included).
    """

    def __init__(
        self, url: Optional[str] = None, token: Optional[str] = None, *, workspace: Optional[str] = None, timeout: float = 60.0
    ) -> None:
        self.url = (url or os.environ.get("BETTONG_URL") or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get("BETTONG_TOKEN") or None
        self._token = token
        self.workspace = workspace if workspace is not None else os.environ.get("BETTONG_WORKSPACE") or None
        self._http = Http(self.url, token, timeout, self.workspace)
        self._extensions: Optional[list[str]] = None

    def close(self) -> None:
        """Closes the client's connections."""
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        ws = f", workspace={self.workspace!r}" if self.workspace else ""
        return f"bettong.Client(url={self.url!r}{', token=***' if self._token else ''}{ws})"

    # -- server ----------------------------------------------------------------------------

    def server_info(self) -> dict[str, Any]:
        """The server's name, version and Open Inference Protocol extensions (``GET /v2``)."""
        info: dict[str, Any] = self._http.json("GET", "/v2")
        self._extensions = list(info.get("extensions", []))
        return info

    def is_live(self) -> bool:
        """Whether the server answers and is not shutting down."""
        try:
            return bool(self._http.json("GET", "/v2/health/live").get("live"))
        except BettongError:
            return False

    def _binary_supported(self) -> bool:
        if self._extensions is None:
            try:
                self.server_info()
            except BettongError:
                self._extensions = []
        return "binary_tensor_data" in (self._extensions or [])

    # -- models ----------------------------------------------------------------------------

    def upload_model(
        self, name: str, model: ModelSource, runtime: Optional[str] = None, sample: Any = None, network: bool = False,
        wait: bool = True,
    ) -> ModelVersion:
        """Uploads a model artifact (an ONNX file, a JavaScript/TypeScript step module, or a
        Python model: a folder, ``.py``, ``.zip`` or ``.tar.gz`` with ``model.py``; or a fitted
        scikit-learn estimator or Pipeline, pickled with joblib) as a new version of ``name``.

        The server checks it loads and reads its signature; identical content returns the
        existing version (``created`` is then False).

        Args:
            name: the model's name (letters, digits, ``_``, ``.``, ``-``).
            model: a file path (a folder for a Python model), the file's bytes, a binary file
                object, an ``onnx.ModelProto``, or a fitted scikit-learn estimator (its signature
                comes from its metadata: feature names or count, classes).
            sample: for an estimator, a few rows of its input (``X_train[:5]``): it must predict
                on them here before it is uploaded.
            network: custom code (``js``, ``python``) may open network connections when it
                serves (off: it has none); recorded in the audit log.
            wait: a Python model with a ``requirements.txt`` has its environment built after the
                upload (status ``building``); wait for it with a progress bar (default), or return
                at once and check ``client.model_build(name, version)``.
            runtime: ``"onnx"``, ``"js"`` (a module exporting ``signature``, optional ``load()``
                and ``predict(columns, state)``) or ``"python"`` (``model.py`` defining
                ``signature``, optional ``load()`` and ``predict(df)``); by default ``"js"`` for a
                path ending in ``.js``, ``.mjs``, ``.ts`` or ``.mts``, ``"python"`` for a folder or
                a path ending in ``.py``, ``.zip``, ``.tar.gz`` or ``.tgz``, else the server's
                default (ONNX). Source code may be passed as bytes with its ``runtime``.

        Raises:
            InvalidInput: the file is not a loadable model (``INVALID_MODEL``) or has outputs the
                server cannot serve (``UNSUPPORTED_MODEL_OUTPUT``, e.g. a skl2onnx ZipMap), or its
                environment did not build (the message ends with the build log's tail).
        """
        if runtime is None:
            runtime = _runtime_of(model)
        if runtime is not None and runtime not in ("onnx", "js", "python"):
            raise ValueError(f"runtime must be 'onnx', 'js' or 'python', not {runtime!r}")
        if sample is not None and _is_estimator(model):
            model.predict(sample)  # an unfitted or mismatched estimator fails here, with scikit-learn's own message
        data = _artifact_bytes(model)
        d = self._http.json("POST", f"/v1/models/{segment(name)}", content=data,
                            params={**({"runtime": runtime} if runtime else {}), **({"network": "true"} if network else {})} or None,
                            headers={"content-type": "application/octet-stream"})
        if wait and d.get("status") == "building":
            d = self._wait_for_build(name, int(d["version"]))
        return ModelVersion.from_json(d, self)

    def model_build(self, name: str, version: int) -> dict[str, Any]:
        """A model version's environment build: ``{"status": "building" | "ready" | "failed", "log": ...}``."""
        return cast(dict[str, Any], self._http.json("GET", f"/v1/models/{segment(name)}/versions/{version}/build"))

    def _wait_for_build(self, name: str, version: int) -> dict[str, Any]:
        import time

        from .pipeline import _progress_bar

        with _progress_bar()(desc=f"building {name}:{version}", bar_format="{desc}: {elapsed}") as bar:
            while True:
                build = self.model_build(name, version)
                if build["status"] != "building":
                    break
                time.sleep(1)
                bar.update(0)
        if build["status"] == "failed":
            tail = "\n".join(build.get("log", "").strip().splitlines()[-10:])
            raise InvalidInput(f"the environment of {name}:{version} did not build:\n{tail}", code="INVALID_MODEL", status=422)
        return cast(dict[str, Any], self._http.json("GET", f"/v1/models/{segment(name)}/versions/{version}"))

    def list_models(self) -> ModelList:
        """Every model, by name (``to_dataframe()`` for a DataFrame)."""
        d = self._http.json("GET", "/v1/models")
        return ModelList(Model.from_summary(m, self) for m in d.get("models", []))

    def get_model(self, name: str) -> Model:
        """A model with all its versions."""
        return Model.from_detail(self._http.json("GET", f"/v1/models/{segment(name)}"), self)

    def get_model_version(self, name: str, version: Optional[int] = None) -> ModelVersion:
        """One version of a model; the latest when ``version`` is None."""
        if version is None:
            versions = self.get_model(name)._versions
            if not versions:
                raise NotFound(f"model '{name}' has no versions", "MODEL_VERSION_NOT_FOUND")
            return versions[-1]
        return ModelVersion.from_json(self._http.json("GET", f"/v1/models/{segment(name)}/versions/{int(version)}"), self)

    def download_model(self, name: str, version: Optional[int] = None,
                       path: Union[str, "os.PathLike[str]", None] = None) -> Union[bytes, Path]:
        """A model version's artifact (the latest by default): its bytes, or written to ``path``
        (streamed) and that path returned."""
        if version is None:
            version = self.get_model_version(name).version
        route = f"/v1/models/{segment(name)}/versions/{int(version)}/artifact"
        with self._http.stream("GET", route) as resp:
            if path is None:
                buf = io.BytesIO()
                for chunk in resp.iter_bytes():
                    buf.write(chunk)
                return buf.getvalue()
            p = Path(path)
            with open(p, "wb") as f:
                for chunk in resp.iter_bytes():
                    f.write(chunk)
            return p

    # -- pipelines and deployments ---------------------------------------------------------

    def build_pipeline(self, name: str) -> Pipeline:
        """A pipeline with an empty draft: add steps, then ``create()`` or ``deploy()``.

        Nothing is sent until then; if ``name`` exists, sending makes a new version of it only
        when the steps differ from its latest version.
        """
        return Pipeline(self, name, steps=[])

    def get_pipeline(self, name: str) -> Pipeline:
        """An existing pipeline; its draft starts as the latest version's steps.

        Raises:
            NotFound: no such pipeline.
        """
        d = self._http.json("GET", f"/v1/pipelines/{segment(name)}")
        dep = d.get("deployment") or {}
        latest = d.get("latest") or {}
        summary = {"name": name, "latest_version": latest.get("version"), "status": dep.get("status"),
                   "deployed_version": dep.get("pipeline_version"), "created_at": latest.get("created_at")}
        return Pipeline(self, name, summary=summary)

    def list_pipelines(self) -> PipelineList:
        """Every pipeline, by name, with its deployment state (``to_dataframe()`` for a DataFrame)."""
        pipelines = self._http.json("GET", "/v1/pipelines").get("pipelines", [])
        deployed = {d.pipeline: d for d in self.list_deployments()}
        out = PipelineList()
        for p in pipelines:
            dep = deployed.get(p["name"])
            summary = dict(p)
            summary["status"] = dep.status if dep else "undeployed"
            summary["deployed_version"] = dep.pipeline_version if dep else None
            out.append(Pipeline(self, p["name"], summary=summary))
        return out

    def list_deployments(self) -> DeploymentList:
        """Every pipeline stored as deployed, with its status (running or failed) and config."""
        d = self._http.json("GET", "/v1/deployments")
        return DeploymentList(Deployment.from_json(x) for x in d.get("deployments", []))

    def _deploy(self, name: str, *, version: Optional[int] = None, replicas: Optional[int] = None,
                threads: Optional[int] = None) -> Deployment:
        body = {k: v for k, v in (("version", version), ("replicas", replicas), ("threads", threads)) if v is not None}
        return Deployment.from_json(self._http.json("POST", f"/v1/pipelines/{segment(name)}/deploy", json_body=body))

    # -- performance monitors --------------------------------------------------------------

    def build_monitor(self, name: str, pipeline: Union[str, Pipeline], **definition: Any) -> Monitor:
        """A performance monitor draft on ``pipeline``: ``task`` ('classification' or 'regression'),
        ``label`` (the feedback's label column), ``prediction`` (``out.<output>``), ``window``, and
        optionally ``probabilities``, ``key``, ``metric``, ``warning``/``alert`` levels,
        ``min_coverage``/``max_delay``, ``reference=(start, end)`` for CBPE, ``webhook``.
        Then ``preview()`` or ``create()``."""
        p = pipeline.name if isinstance(pipeline, Pipeline) else pipeline
        return Monitor(self, name, Monitor.build_definition(p, **definition))

    def get_monitor(self, name: str) -> Monitor:
        """A saved performance monitor.

        Raises:
            NotFound: no such monitor.
        """
        return Monitor.from_info(self, self._http.json("GET", f"/v1/monitors/{segment(name)}"))

    def list_monitors(self) -> MonitorList:
        """Every saved performance monitor."""
        return MonitorList(Monitor.from_info(self, m) for m in self._http.json("GET", "/v1/monitors").get("monitors", []))

    # -- assays ----------------------------------------------------------------------------

    def build_assay(self, name: str, pipeline: Union[str, Pipeline], target: str,
                    index: Optional[Union[int, list[int]]] = None) -> Assay:
        """An assay draft on ``pipeline``'s ``target`` column (``in.<input>`` or ``out.<output>``,
        ``index`` for one element of a tensor): set its baseline and window, then ``preview()``
        or ``create()``."""
        return Assay(self, name, pipeline.name if isinstance(pipeline, Pipeline) else pipeline, target, index=index)

    def get_assay(self, name: str) -> Assay:
        """A saved assay.

        Raises:
            NotFound: no such assay.
        """
        return Assay.from_info(self, self._http.json("GET", f"/v1/assays/{segment(name)}"))

    def list_assays(self) -> AssayList:
        """Every saved assay (``to_dataframe()`` for a DataFrame)."""
        d = self._http.json("GET", "/v1/assays")
        return AssayList(Assay.from_info(self, a) for a in d.get("assays", []))
