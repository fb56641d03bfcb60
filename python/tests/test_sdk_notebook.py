"""
examples/quickstart.ipynb, executed top to bottom against the session's server: the notebook
in the repository is always one that runs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from sdk_support import REPO_ROOT

NOTEBOOK = REPO_ROOT / "examples" / "quickstart.ipynb"
KERNEL = "bettong-test-python"


def _kernel_manager(tmp_path: Path) -> KernelManager:
    """A kernel running this very interpreter (the venv's, where bettong and ipykernel are
    installed), whatever kernelspecs the machine or the user have."""
    spec_dir = tmp_path / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (bettong tests)", "language": "python",
    }))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)


def test_quickstart_notebook_runs(server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BETTONG_URL", server.url)  # the kernel inherits it
    monkeypatch.delenv("BETTONG_TOKEN", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    client = NotebookClient(nb, km=_kernel_manager(tmp_path), timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"examples/quickstart.ipynb failed:\n{e}")

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors
    stdout = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "largest difference from scikit-learn's predict_proba" in stdout
    assert "569/569" in stderr  # the progress bar of the batched inference
    assert "Warning" not in stderr, stderr
    # the performance monitor section: labels a "week" later, accuracy down, the webhook called
    assert "webhook: performance.alert realised" in stdout, stdout
    assert "unmatched labels: 0" in stdout
    htmls = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs if "data" in o)
    assert "ModelVersion breast-cancer" in htmls and "Pipeline breast-cancer" in htmls
    assert "undeployed" in htmls
    assert any("image/png" in o.get("data", {}) for o in outputs), "the histogram was not drawn"
