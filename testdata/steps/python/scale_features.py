# Pre-processing in Python before an ONNX model: the 30 breast-cancer features halved (as scale_features.ts).
signature = {
    "inputs": [{"name": "raw", "datatype": "FP32", "shape": [-1, 30]}],
    "outputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}],
}


def predict(df):
    return {"input": [row / 2 for row in df["raw"]]}
