"""Helpers shared by the SDK tests (a module name of its own: test/python has a conftest too)."""
from __future__ import annotations

import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "testdata" / "models"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fixture_model(name: str) -> Path:
    """A committed fixture model under testdata/models/."""
    return MODELS_DIR / f"{name}.onnx"
