# Inputs as DataFrame columns: a tensor input as array cells, or flattened into one column per element.
import numpy as np

signature = {
    "inputs": [
        {"name": "pixels", "datatype": "FP64", "shape": [-1, 3], "flatten": True},  # pixels_0, pixels_1, pixels_2
        {"name": "position", "datatype": "FP32", "shape": [-1, 2], "columns": ["lat", "lon"]},
        {"name": "window", "datatype": "FP32", "shape": [-1, 2]},  # one column, a numpy array per row
    ],
    "outputs": [
        {"name": "columns", "datatype": "BYTES", "shape": [-1]},
        {"name": "score", "datatype": "FP64", "shape": [-1]},
        {"name": "doubled", "datatype": "FP32", "shape": [-1, 2]},
    ],
}


def predict(df):
    score = df["pixels_0"] + 10 * df["pixels_1"] + 100 * df["pixels_2"] + df["lat"] - df["lon"]
    return {
        "columns": np.array([",".join(df.columns)] * len(df)),
        "score": score.to_numpy(),
        "doubled": np.stack(df["window"].to_numpy()) * 2,
    }
