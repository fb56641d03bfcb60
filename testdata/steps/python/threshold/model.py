# A Python model packed as a folder: model.py loads its threshold from a file beside it.
import json

import pandas as pd

signature = {
    "inputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
    "outputs": [
        {"name": "diagnosis", "datatype": "BYTES", "shape": [-1]},
        {"name": "score", "datatype": "FP32", "shape": [-1]},
    ],
}


def load():
    with open("threshold.json") as f:
        return json.load(f)


def predict(df: pd.DataFrame, config) -> pd.DataFrame:
    malignant = df["probabilities"].map(lambda p: float(p[0]))
    return pd.DataFrame({
        "diagnosis": ["malignant" if m >= config["threshold"] else "benign" for m in malignant],
        "score": malignant,
    })
