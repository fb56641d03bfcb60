"""Helpers shared by the SDK tests (a module name of its own: test/python has a conftest too)."""
from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "testdata" / "models"

# The server launcher is shared with the OIP client tests (test/python/bettong_server.py).
sys.path.insert(0, str(REPO_ROOT / "test" / "python"))
from bettong_server import free_port  # noqa: E402,F401


def fixture_model(name: str) -> Path:
    """A committed fixture model under testdata/models/."""
    return MODELS_DIR / f"{name}.onnx"
