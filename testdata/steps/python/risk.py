# Pre-processing in Python: a pandas step that scores age and income (a single-file Python model).
import numpy as np

signature = {
    "inputs": [
        {"name": "age", "datatype": "FP64", "shape": [-1]},
        {"name": "income", "datatype": "FP64", "shape": [-1]},
    ],
    "outputs": [
        {"name": "risk", "datatype": "FP32", "shape": [-1]},
        {"name": "band", "datatype": "BYTES", "shape": [-1]},
        {"name": "features", "datatype": "FP32", "shape": [-1, 2]},
    ],
}


def load():
    return {"age_scale": 100.0, "income_scale": 1e5}


def predict(df, state):
    age = df["age"].to_numpy() / state["age_scale"]
    income = df["income"].to_numpy() / state["income_scale"]
    risk = np.clip(age - income / 2, 0, 1)
    return {
        "risk": risk,
        "band": np.where(risk > 0.3, "high", "low"),
        "features": np.stack([age, income], axis=1),
    }
