# A Python model with its own requirements.txt (tabulate, not in the base environment): its
# environment is built when it is uploaded.
from tabulate import tabulate

signature = {
    "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1]}],
    "outputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
}


def predict(df):
    return {"text": [tabulate([[v]], tablefmt="plain") for v in df["x"]]}
