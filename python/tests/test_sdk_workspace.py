"""The client acts in a workspace: ``workspace=`` or ``$BETTONG_WORKSPACE``, sent as the Bettong-Workspace header."""
from __future__ import annotations

import httpx
import pytest

import bettong

from sdk_support import fixture_model


def test_models_live_in_the_client_workspace(server, client: bettong.Client, unique: str, monkeypatch) -> None:
    ws = f"ws-{unique}"
    # Local mode (loopback, no --auth): a call without a token acts as the admin.
    httpx.post(f"{server.url}/v1/workspaces", json={"name": ws}).raise_for_status()
    name = f"ws-model-{unique}"
    with bettong.Client(server.url, workspace=ws) as c:
        assert "workspace='" + ws + "'" in repr(c)
        c.upload_model(name, fixture_model("breast_cancer_logreg"))
        assert [m.name for m in c.list_models()] == [name]
    assert name not in [m.name for m in client.list_models()]
    monkeypatch.setenv("BETTONG_WORKSPACE", ws)
    with bettong.Client(server.url) as c:
        assert c.get_model(name).name == name
    with bettong.Client(server.url, workspace=f"missing-{unique}") as c, pytest.raises(bettong.errors.NotFound) as err:
        c.list_models()
    assert err.value.code == "WORKSPACE_NOT_FOUND"
