"""Ground truth and performance monitors from the SDK: add_feedback, unmatched labels, a monitor
preview as a DataFrame whose metrics equal scikit-learn's on the joined rows (overall and per A/B
arm), compare with a monitor, and the chart."""
from __future__ import annotations

import time

import matplotlib
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

import bettong

from sdk_support import fixture_model

matplotlib.use("Agg")


def test_feedback_monitor_preview_compare_and_plot(client: bettong.Client, unique: str, trained) -> None:
    a = client.upload_model(f"bc-logreg-{unique}", fixture_model("breast_cancer_logreg"))
    b = client.upload_model(f"bc-scaled-{unique}", fixture_model("breast_cancer_logreg_scaled"))
    p = client.build_pipeline(f"perf-{unique}").add_ab_step([(a, 1), (b, 1)]).deploy()
    start = int(time.time() * 1000)
    X = trained.X.head(40)
    ids = [f"t{i}" for i in range(len(X))]
    for i in range(len(X)):  # one row per request: the arm of each row is in the logs
        p.infer(X.iloc[i:i + 1], metadata={"transaction_id": ids[i]})
    truth = np.asarray(trained.clf.predict(X))  # type: ignore[attr-defined]
    truth[::4] = 1 - truth[::4]
    labels = pd.DataFrame({"transaction_id": ids, "benign": truth})
    labels.loc[len(labels)] = ["never-inferred", 1]
    receipt = p.add_feedback(labels, key="transaction_id", label="benign")
    assert (receipt["received"], receipt["matched"], receipt["unmatched"]) == (41, 40, 1)
    unmatched = p.unmatched_feedback()
    assert list(unmatched["key"]) == ["metadata.transaction_id:never-inferred"] and list(unmatched["benign"]) == [1]

    logs = p.logs(start=start - 1_000, limit=None)
    logs = logs.set_index("metadata.transaction_id").loc[ids]
    predicted = logs["out.label"].astype(int).to_numpy()
    arms = logs["metadata.models"].map(lambda ms: " -> ".join(f"{m['name']}:{m['version']}" for m in ms)).to_numpy()

    # one window as wide as the traffic
    width = int(time.time() * 1000) + 1_000 - (start - 1_000)
    monitor = client.build_monitor(f"perf-{unique}", p, task="classification", label="benign", prediction="out.label",
                                   probabilities="out.probabilities", key="transaction_id", window=width,
                                   start=start - 1_000, metric="f1", alert=0.5)
    preview = monitor.preview(start=start - 1_000, end=start - 1_000 + width)
    assert len(preview) == 1
    row = preview.iloc[0]
    assert (row["count"], row["labelled"], row["coverage"]) == (40, 40, 1.0)
    assert abs(row["value"] - f1_score(truth, predicted)) < 1e-9
    assert abs(row["metric.accuracy"] - accuracy_score(truth, predicted)) < 1e-9
    per_arm = {a["models"]: a for a in preview.answer["windows"][0]["arms"]}
    for arm in set(arms):
        mask = arms == arm
        assert abs(per_arm[arm]["metrics"]["accuracy"] - accuracy_score(truth[mask], predicted[mask])) < 1e-9

    saved = monitor.create()
    cmp = p.compare(monitor=saved.name)
    answers = cmp[cmp["role"] == "answer"].set_index("models")
    for arm in set(arms):
        mask = arms == arm
        assert answers.loc[arm, "performance.labelled"] == mask.sum()
        assert abs(answers.loc[arm, "performance.accuracy"] - accuracy_score(truth[mask], predicted[mask])) < 1e-9

    # a per-row id list travels with its rows when a frame is inferred in several requests
    more = [f"m{i}" for i in range(30)]
    p.infer(trained.X.head(30), batch_size=7, metadata={"transaction_id": more})
    r = p.add_feedback(pd.DataFrame({"transaction_id": more, "benign": 1}), key="transaction_id", label="benign")
    assert r["matched"] == 30, r

    fig = preview.plot()
    assert fig.axes[0].get_ylabel() == "f1"
    saved.delete()
    p.undeploy()
