"""Reference vectors for Bettong's drift metrics (src/monitoring/metrics.ts, binning.ts).

Writes testdata/drift/vectors.json: several baseline/window pairs (same, shifted, scaled,
heavy-tailed, discrete with ties, NaNs, all-equal baseline, small and large samples,
categorical) with
  - scipy's ks_2samp (method='auto'), wasserstein_distance, jensenshannon (base 2), chisquare
    over the bins the baseline has values in (f_exp = baseline proportion x the window's rows in
    those bins; bins empty in the baseline add no degree of freedom, their window rows are
    reported as 'unscored');
  - a reference binning and PSI / MaxDiff / SumDiff written here in numpy, following the rule
    Bettong documents (bins fixed from the baseline, outlier bins on both sides, NaN in the
    leftmost bin, empty bins take proportion EPSILON in PSI).

Run from the repo root:  .venv/bin/python testdata/drift/make_vectors.py
(pip install -r testdata/drift/requirements.txt into .venv first). Deterministic: one seeded
generator; with the pinned versions the output is byte-identical.
"""
import json
import math
import os
import re

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

EPSILON = 1e-4
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
rng = np.random.default_rng(20240501)


def r6(a):
    """Round to 6 decimals so the JSON stays small; the rounded values are the data."""
    return np.round(np.asarray(a, dtype=np.float64), 6)


def edges_for(baseline, mode, bins, provided=None):
    x = baseline[~np.isnan(baseline)]
    if mode == "quantile":
        e = np.quantile(x, np.linspace(0, 1, bins + 1))  # numpy's default 'linear' (type 7)
    elif mode == "equal_width":
        e = np.linspace(x.min(), x.max(), bins + 1)
    else:
        e = np.asarray(provided, dtype=np.float64)
    return np.unique(e)  # ties collapse edges; Bettong reports the bins it really used


def bin_index(values, edges):
    """0: NaN and below edges[0]; 1..k: [e_i-1, e_i) (the last closed); k+1: above edges[-1]."""
    m = len(edges) - 1
    k = max(m, 1)
    idx = np.searchsorted(edges, values, side="right")
    idx = np.where(values == edges[-1], k, idx)
    idx = np.where(values > edges[-1], k + 1, idx)
    idx = np.where(np.isnan(values), 0, idx)
    return idx, k + 2


def binned_metrics(b_counts, w_counts):
    b = b_counts / b_counts.sum()
    w = w_counts / w_counts.sum()
    bs = np.where(b == 0, EPSILON, b)
    ws = np.where(w == 0, EPSILON, w)
    psi_bins = (ws - bs) * np.log(ws / bs)
    diffs = np.abs(w - b)
    return {
        "baseline_proportions": b.tolist(),
        "window_proportions": w.tolist(),
        "psi": float(psi_bins.sum()),
        "psi_bins": psi_bins.tolist(),
        "maxdiff": float(diffs.max()),
        "maxdiff_bin": int(np.argmax(diffs)),
        "sumdiff": float(0.5 * diffs.sum()),
        "jensenshannon": float(jensenshannon(b, w, base=2)),
    }


def chisquare_scored(b_counts, w_counts):
    """scipy's chisquare over the bins the baseline has values in, expectations scaled to the window."""
    b_counts, w_counts = np.asarray(b_counts, dtype=np.float64), np.asarray(w_counts, dtype=np.float64)
    scored = b_counts > 0
    b = b_counts / b_counts.sum()
    obs = w_counts[scored]
    f_exp = obs.sum() * b[scored]
    if obs.sum() == 0:  # nothing to test: scipy divides 0 by 0; written as null (JSON has no NaN)
        stat = pvalue = None
    else:
        chi = stats.chisquare(obs, f_exp)
        stat, pvalue = float(chi.statistic), float(chi.pvalue)
        if scored.sum() == 1:  # df 0: scipy says NaN (chi2 needs df > 0); P(chi2_0 >= 0) = 1, the test never rejects
            pvalue = 1.0
    return {"statistic": stat, "pvalue": pvalue, "df": int(scored.sum()) - 1,
            "bins": int(scored.sum()), "unscored": int(w_counts[~scored].sum())}


def jnum(a):
    return [None if math.isnan(v) else v for v in np.asarray(a, dtype=np.float64).tolist()]


def numeric_case(name, baseline, window, mode="quantile", bins=5, provided=None):
    baseline, window = r6(baseline), r6(window)
    edges = edges_for(baseline, mode, bins, provided)
    bi, nb = bin_index(baseline, edges)
    wi, _ = bin_index(window, edges)
    b_counts = np.bincount(bi, minlength=nb).astype(np.float64)
    w_counts = np.bincount(wi, minlength=nb).astype(np.float64)
    bx, wx = baseline[~np.isnan(baseline)], window[~np.isnan(window)]
    ks = stats.ks_2samp(bx, wx, method="auto")
    case = {
        "name": name, "kind": "numeric", "mode": mode, "bins": bins,
        "baseline": jnum(baseline), "window": jnum(window),
        "edges": edges.tolist(),
        "baseline_counts": b_counts.astype(int).tolist(), "window_counts": w_counts.astype(int).tolist(),
        **binned_metrics(b_counts, w_counts),
        "ks": {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue),
               "method": "exact" if max(len(bx), len(wx)) <= 10000 else "asymp"},
        "wasserstein": float(stats.wasserstein_distance(bx, wx)),
        "chisquare": chisquare_scored(b_counts, w_counts),
    }
    if provided is not None:
        case["provided_edges"] = list(provided)
    return case


JSON_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")


def category(v):
    """A value's category: a string as it is, a number its JSON text (ints only here), None missing."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else json.dumps(v)


def category_order(c):
    """Numbers first by value, then the other strings."""
    return (0, float(c), c) if JSON_NUMBER.match(c) else (1, 0.0, c)


def categorical_case(name, baseline, window):
    cats = sorted({category(v) for v in baseline if v is not None}, key=category_order)
    pos = {c: i + 1 for i, c in enumerate(cats)}
    nb = len(cats) + 2  # 0: missing, 1..K: baseline categories, K+1: unseen in the baseline

    def counts(values):
        c = np.zeros(nb)
        for v in values:
            c[0 if v is None else pos.get(category(v), nb - 1)] += 1
        return c

    b_counts, w_counts = counts(baseline), counts(window)
    return {
        "name": name, "kind": "categorical", "baseline": baseline, "window": window,
        "categories": cats,
        "baseline_counts": b_counts.astype(int).tolist(), "window_counts": w_counts.astype(int).tolist(),
        **binned_metrics(b_counts, w_counts),
        "chisquare": chisquare_scored(b_counts, w_counts),
    }


def with_nans(a, frac):
    a = np.array(a, dtype=np.float64)
    a[rng.random(len(a)) < frac] = np.nan
    return a


cases = [
    numeric_case("same", rng.normal(0, 1, 1000), rng.normal(0, 1, 800)),
    numeric_case("shifted", rng.normal(0, 1, 1000), rng.normal(0.5, 1, 800)),
    numeric_case("scaled", rng.normal(0, 1, 1000), rng.normal(0, 2, 800)),
    numeric_case("heavy_tailed", rng.normal(0, 1, 1000), rng.standard_t(2, 900)),
    numeric_case("equal_width_shifted", rng.normal(10, 2, 1000), rng.normal(11, 2, 700), mode="equal_width", bins=8),
    numeric_case("provided_edges", rng.exponential(1.0, 600), rng.exponential(1.5, 500), mode="provided",
                 provided=[0.0, 0.25, 0.5, 1.0, 2.0, 4.0]),
    numeric_case("small_exact_unequal", rng.normal(0, 1, 30), rng.normal(0.8, 1, 25)),
    numeric_case("small_exact_equal", rng.normal(0, 1, 40), rng.normal(0.3, 1.2, 40)),
    numeric_case("discrete_ties", rng.poisson(2, 500).astype(float), rng.poisson(2.6, 400).astype(float), bins=6),
    numeric_case("nans", with_nans(rng.normal(0, 1, 800), 0.05), with_nans(rng.normal(0.2, 1, 600), 0.2)),
    numeric_case("all_equal_baseline", np.full(50, 3.0), np.concatenate([np.full(30, 3.0), rng.normal(3, 1, 20)])),
    numeric_case("empty_window_bins", rng.uniform(0, 10, 500), rng.uniform(0, 2, 300), bins=10),
    numeric_case("large_asymp", rng.normal(0, 1, 12000), rng.normal(0.05, 1, 11000)),
    numeric_case("asymp_small_en", rng.normal(0, 1, 10500), rng.normal(0.3, 1, 100)),
    numeric_case("large_asymp_tiny_p", rng.normal(0, 1, 11000), rng.normal(0.4, 1, 10001)),
    numeric_case("large_asymp_same", rng.normal(0, 1, 10500), rng.normal(0, 1, 10200)),
]

letters = ["a", "b", "c", "d", "e"]
base_cat = [str(x) for x in rng.choice(letters, 1000, p=[0.4, 0.3, 0.15, 0.1, 0.05])]
cases += [
    categorical_case("categorical_same", base_cat, [str(x) for x in rng.choice(letters, 600, p=[0.4, 0.3, 0.15, 0.1, 0.05])]),
    categorical_case("categorical_shifted", base_cat,
                     [str(x) for x in rng.choice(letters, 600, p=[0.2, 0.3, 0.2, 0.2, 0.1])]),
    categorical_case("categorical_unseen_and_missing", base_cat,
                     [str(x) for x in rng.choice(letters[:4], 300, p=[0.4, 0.3, 0.2, 0.1])] + ["z"] * 12 + [None] * 5),
]

# Deterministic cases from issue 10: integers shifted by 20 (KS p and W1 exactly as scipy), the
# a/b/c counts whose chi-square must have df 2, a real drift among them, labels that look like
# numbers (text in the baseline, numbers and text in the window), a window with unseen values only.
cases += [
    numeric_case("integers_shifted", np.arange(100.0), np.arange(20.0, 120.0)),
    categorical_case("categorical_abc", ["a"] * 50 + ["b"] * 30 + ["c"] * 20, ["a"] * 40 + ["b"] * 35 + ["c"] * 25),
    categorical_case("categorical_abc_drift", ["a"] * 50 + ["b"] * 30 + ["c"] * 20, ["a"] * 38 + ["b"] * 40 + ["c"] * 22),
    categorical_case("categorical_numeric_labels", [str(i % 12) for i in range(600)],
                     [i % 12 for i in range(300)] + [str(i % 12) for i in range(300)] + [12] * 7 + [None] * 3),
    categorical_case("categorical_unseen_only", ["a"] * 5 + ["b"] * 5, ["z"] * 4),
]

# The asymptotic p-value is kstwo.sf(d, round(m*n/(m+n))): check it over every branch
# (Ruben-Gambino ends, Durbin matrix, Pomeranz, Smirnov's one-sided sum, Pelz-Good).
kstwo = []
for n in [3, 10, 50, 140, 141, 1000, 5000, 100000, 200000]:
    for x in [0.3 / n, 0.8 / n, 0.02, 0.05, 0.1, 0.2, 0.35, 0.6, 0.97]:
        for z in ([x] if n < 1000 else [x, 0.4 / math.sqrt(n), 1.0 / math.sqrt(n), 1.4 / math.sqrt(n)]):
            kstwo.append({"n": n, "x": z, "sf": float(stats.kstwo.sf(z, n))})

doc = {
    "generated_by": "testdata/drift/make_vectors.py",
    "numpy": np.__version__, "scipy": __import__("scipy").__version__,
    "epsilon": EPSILON, "jensenshannon_base": 2,
    "cases": cases,
    "kstwo_sf": kstwo,
}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {OUT}: {len(cases)} cases")
