"""
Runs the tritonclient.grpc suite (grpc_clients.py) in a pytest process of its own, against its
own server: tritonclient.grpc cannot be imported beside kserve, which the REST suite uses.
"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_tritonclient_grpc_suite():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE / "grpc_clients.py"), "-q", "-p", "no:cacheprovider"],
        cwd=HERE.parents[1], capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"tritonclient.grpc suite failed:\n{proc.stdout}\n{proc.stderr}"
    print(proc.stdout.strip().splitlines()[-1])
