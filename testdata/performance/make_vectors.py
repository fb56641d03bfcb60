"""Reference vectors for Bettong's performance metrics (src/monitoring/performance/metrics.ts).

Writes testdata/performance/vectors.json: joined prediction/label rows (binary, binary with tied
scores, string labels, multiclass, a class never predicted, a class only predicted, one class
present, missing labels, regression incl. zeros and a constant truth) with scikit-learn's
accuracy, precision / recall / F1 (binary, macro, weighted; zero_division=0), roc_auc_score
(binary; multiclass ovr macro), log_loss, brier_score_loss, confusion_matrix and the regression
metrics. Rows whose label is null are missing labels: they are dropped before scikit-learn sees
them, as Bettong's join drops them.

Run from the repo root:  .venv/bin/python testdata/performance/make_vectors.py
(pip install -r testdata/performance/requirements.txt). Deterministic: one seeded generator.
"""
import json
import os

import numpy as np
from sklearn import metrics as M

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
rng = np.random.default_rng(20261201)


def r6(a):
    return np.round(np.asarray(a, dtype=np.float64), 6)


def classification(name, truth, pred, proba=None, classes=None, positive=1):
    keep = [i for i, t in enumerate(truth) if t is not None]
    yt = [truth[i] for i in keep]
    yp = [pred[i] for i in keep]
    labels = sorted(set(yt) | set(yp))
    expected = {
        "accuracy": M.accuracy_score(yt, yp),
        "precision_macro": M.precision_score(yt, yp, average="macro", zero_division=0),
        "recall_macro": M.recall_score(yt, yp, average="macro", zero_division=0),
        "f1_macro": M.f1_score(yt, yp, average="macro", zero_division=0),
        "precision_weighted": M.precision_score(yt, yp, average="weighted", zero_division=0),
        "recall_weighted": M.recall_score(yt, yp, average="weighted", zero_division=0),
        "f1_weighted": M.f1_score(yt, yp, average="weighted", zero_division=0),
    }
    if len(labels) <= 2:
        for k, f in (("precision", M.precision_score), ("recall", M.recall_score), ("f1", M.f1_score)):
            expected[k] = f(yt, yp, pos_label=positive, average="binary", zero_division=0)
    else:
        # Bettong's binary metrics are those of the positive class (sklearn: average=None, that class)
        i = labels.index(positive)
        for k, f in (("precision", M.precision_score), ("recall", M.recall_score), ("f1", M.f1_score)):
            expected[k] = f(yt, yp, labels=labels, average=None, zero_division=0)[i]
    case = {"name": name, "kind": "classification", "truth": truth, "predicted": pred, "positive": positive}
    if proba is not None:
        proba = r6(proba)
        p = proba[keep]
        case["probabilities"] = proba.tolist()
        case["classes"] = classes
        if len(classes) == 2:
            score = p[:, classes.index(positive)]
            yb = [1 if t == positive else 0 for t in yt]
            expected["roc_auc"] = M.roc_auc_score(yb, score) if len(set(yb)) == 2 else None
            expected["brier"] = M.brier_score_loss(yb, score)
        else:
            present = set(yt) == set(classes)
            expected["roc_auc"] = M.roc_auc_score(yt, p, multi_class="ovr", average="macro", labels=classes) if present else None
            expected["brier"] = M.brier_score_loss(yt, p, labels=classes)
        expected["log_loss"] = M.log_loss(yt, p, labels=classes)
    case["expected"] = {k: (None if v is None else float(v)) for k, v in expected.items()}
    case["confusion_matrix"] = {"labels": [str(x) for x in labels], "matrix": M.confusion_matrix(yt, yp, labels=labels).tolist()}
    return case


def binary_proba(n, ties=False):
    p1 = rng.beta(2, 2, n)
    if ties:
        p1 = np.round(p1, 1)
    truth = (rng.random(n) < p1).astype(int).tolist()
    return truth, np.stack([1 - p1, p1], axis=1)


cases = []
t, P = binary_proba(300)
cases.append(classification("binary", t, (P[:, 1] >= 0.5).astype(int).tolist(), P, [0, 1]))
t, P = binary_proba(200, ties=True)
cases.append(classification("binary_tied_scores", t, (P[:, 1] >= 0.5).astype(int).tolist(), P, [0, 1]))
t, P = binary_proba(150)
cases.append(classification("binary_strings", ["fraud" if x else "ok" for x in t],
                            ["fraud" if x >= 0.5 else "ok" for x in P[:, 1]], P[:, ::-1], ["fraud", "ok"], positive="fraud"))
t, P = binary_proba(120)
missing = [None if rng.random() < 0.3 else x for x in t]
cases.append(classification("binary_missing_labels", missing, (P[:, 1] >= 0.5).astype(int).tolist(), P, [0, 1]))
t, P = binary_proba(40)
cases.append(classification("binary_one_class_present", [1] * 40, (P[:, 1] >= 0.5).astype(int).tolist(), P, [0, 1]))

P3 = rng.dirichlet([1.5, 1.0, 0.7], 400)
t3 = [int(rng.choice(3, p=p)) for p in P3]
cases.append(classification("multiclass", t3, P3.argmax(axis=1).tolist(), P3, [0, 1, 2], positive=2))
# class 2 is never predicted: its precision is 0/0 (zero_division=0)
pred = [min(int(x), 1) for x in P3.argmax(axis=1)]
cases.append(classification("multiclass_never_predicted", t3, pred, None, None, positive=2))
# class 3 is only predicted, never true
pred = [3 if i % 17 == 0 else int(x) for i, x in enumerate(P3.argmax(axis=1))]
cases.append(classification("multiclass_only_predicted", t3, pred, None, None, positive=1))
missing3 = [None if rng.random() < 0.25 else x for x in t3]
cases.append(classification("multiclass_missing_labels", missing3, P3.argmax(axis=1).tolist(), P3, [0, 1, 2], positive=0))


def regression(name, truth, pred):
    keep = [i for i, t in enumerate(truth) if t is not None]
    yt = np.array([truth[i] for i in keep], dtype=float)
    yp = np.array([pred[i] for i in keep], dtype=float)
    return {"name": name, "kind": "regression", "truth": truth, "predicted": pred, "expected": {
        "mae": float(M.mean_absolute_error(yt, yp)), "rmse": float(M.root_mean_squared_error(yt, yp)),
        "mape": float(M.mean_absolute_percentage_error(yt, yp)), "r2": float(M.r2_score(yt, yp)),
    }}


y = r6(rng.normal(50, 10, 250))
cases.append(regression("regression", y.tolist(), r6(y + rng.normal(0, 4, 250)).tolist()))
y = r6(rng.normal(0, 1, 100))
y[::10] = 0.0
cases.append(regression("regression_zeros_in_truth", y.tolist(), r6(y + rng.normal(0, 0.5, 100)).tolist()))
cases.append(regression("regression_constant_truth", [3.0] * 20, r6(3 + rng.normal(0, 1, 20)).tolist()))
cases.append(regression("regression_constant_perfect", [3.0] * 20, [3.0] * 20))
y = r6(rng.normal(10, 2, 80)).tolist()
cases.append(regression("regression_missing_labels", [None if i % 4 == 0 else v for i, v in enumerate(y)], r6(np.array(y) * 1.1).tolist()))

with open(OUT, "w") as f:
    json.dump({"generator": "testdata/performance/make_vectors.py", "sklearn": __import__("sklearn").__version__, "cases": cases}, f, indent=None)
    f.write("\n")
print(f"wrote {len(cases)} cases to {OUT}")
