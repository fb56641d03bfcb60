# A custom Python model with the breast_cancer signature (as mean_model.ts): a challenger or an A/B arm.
import numpy as np

signature = {
    "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}],
    "outputs": [
        {"name": "label", "datatype": "INT64", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]},
    ],
}


def predict(df):
    means = np.array([row.mean() for row in df["input"]])
    high = means > 20
    return {
        "label": np.where(high, 0, 1),
        "probabilities": np.where(high[:, None], [0.9, 0.1], [0.1, 0.9]),
    }
