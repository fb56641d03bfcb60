"""A committed NannyML CBPE run that Bettong's CBPE (src/monitoring/performance/cbpe.ts) is checked against.

Writes testdata/performance/cbpe_reference.json: a binary classifier whose scores are
overconfident (so calibration matters), a labelled reference period (3,000 rows) and an analysis
period of 12 chunks of 500 rows, the last 6 under covariate shift (inputs move towards the
decision boundary: accuracy falls, the labels still follow the same P(y | x)). For every chunk:
NannyML 0.13.1's estimated accuracy, F1 and ROC AUC with their sampling errors and confidence
bounds, and the realised metrics from the labels (the truth CBPE should find).

NannyML pins differ from the test venv's, so it runs in its own:
  python3 -m venv .venv-nannyml && .venv-nannyml/bin/pip install -r testdata/performance/requirements-nannyml.txt
  .venv-nannyml/bin/python testdata/performance/make_cbpe_reference.py
Deterministic: one seeded generator.
"""
import json
import os
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no telemetry calls from a reference run

import nannyml as nml
import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cbpe_reference.json")
rng = np.random.default_rng(16)
CHUNK = 500


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def period(n, scale1):
    x1 = rng.normal(0, scale1, n)
    x2 = rng.normal(0, 1, n)
    z = 1.5 * x1 - x2
    y = (rng.random(n) < sigmoid(z)).astype(int)
    # the model: the right direction, overconfident scores
    score = np.round(sigmoid(2.5 * z + 0.3), 6)
    return pd.DataFrame({"y_true": y, "y_pred_proba": score, "y_pred": (score >= 0.5).astype(int)})


reference = period(3000, 1.0)
analysis = pd.concat([period(6 * CHUNK, 1.0), period(6 * CHUNK, 0.35)], ignore_index=True)

est = nml.CBPE(
    y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", problem_type="classification_binary",
    metrics=["roc_auc", "f1", "accuracy"], chunk_size=CHUNK,
)
est.fit(reference)
res = est.estimate(analysis).filter(period="analysis").to_df()

chunks = []
for i in range(len(res)):
    row = res.iloc[i]
    c = {"start": int(row[("chunk", "start_index")]), "end": int(row[("chunk", "end_index")]) + 1}
    for m in ("accuracy", "f1", "roc_auc"):
        c[m] = {
            "estimated": float(row[(m, "value")]),
            "sampling_error": float(row[(m, "sampling_error")]),
            "lower": float(row[(m, "lower_confidence_boundary")]),
            "upper": float(row[(m, "upper_confidence_boundary")]),
            "realised": float(row[(m, "realized")]),
        }
    chunks.append(c)

with open(OUT, "w") as f:
    json.dump({
        "generator": "testdata/performance/make_cbpe_reference.py", "nannyml": nml.__version__,
        "needs_calibration": bool(est.needs_calibration), "chunk_size": CHUNK,
        "reference": {k: reference[k].tolist() for k in reference.columns},
        "analysis": {k: analysis[k].tolist() for k in analysis.columns},
        "chunks": chunks,
    }, f)
    f.write("\n")
print(f"wrote {len(chunks)} chunks; needs_calibration={est.needs_calibration}")
for c in chunks:
    print(c["start"], {m: (round(c[m]["estimated"], 4), round(c[m]["realised"], 4)) for m in ("accuracy", "f1", "roc_auc")})
