"""
Bettong's Python SDK: from a notebook to a monitored production endpoint.

>>> import bettong
>>> client = bettong.Client()                          # $BETTONG_URL, $BETTONG_TOKEN
>>> model = client.upload_model("ccfraud", "model.onnx")
>>> pipeline = client.build_pipeline("fraud").add_model_step(model).deploy(replicas=1)
>>> result = pipeline.infer(df)                        # DataFrame in: time, in.*, out.* out
>>> logs = pipeline.logs(limit=1000)                   # DataFrame
>>> pipeline.undeploy()
"""
from . import errors
from ._version import __version__
from .client import DEFAULT_URL, Client
from .errors import BettongError, Conflict, ConnectionFailed, Forbidden, InvalidInput, NotFound, ServerError, Unauthorized
from .assay import Assay, AssayList, AssayPreview
from .monitor import Monitor, MonitorList, MonitorResults
from .pipeline import ABStep, ModelStep, Pipeline, PipelineList, ShadowStep, Step
from .resources import (
    Deployment,
    DeploymentList,
    Model,
    ModelList,
    ModelVersion,
    ModelVersionList,
    PipelineStep,
    PipelineVersion,
    PipelineVersionList,
    Signature,
    TensorSpec,
)

__all__ = [
    "Monitor",
    "MonitorList",
    "MonitorResults",
    "__version__",
    "Client",
    "DEFAULT_URL",
    "errors",
    "BettongError",
    "InvalidInput",
    "NotFound",
    "Conflict",
    "Unauthorized",
    "Forbidden",
    "ServerError",
    "ConnectionFailed",
    "Model",
    "ModelList",
    "ModelVersion",
    "ModelVersionList",
    "Pipeline",
    "PipelineList",
    "PipelineStep",
    "PipelineVersion",
    "PipelineVersionList",
    "Deployment",
    "DeploymentList",
    "Signature",
    "TensorSpec",
    "Step",
    "ModelStep",
    "ABStep",
    "ShadowStep",
    "Assay",
    "AssayList",
    "AssayPreview",
]
