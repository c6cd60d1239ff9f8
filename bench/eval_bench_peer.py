#!/usr/bin/python3
"""Peer side of bench/eval_bench: the eval + drift + quality numbers of
shardbench-cli computed with pandas / numpy / scipy / scikit-learn in one
process, written the way a pandas user would.

Usage: eval_bench_peer.py DATA.csv REFERENCE.csv OUT.json
Reads both files with pandas.read_csv (C engine, default options), then computes
  eval:    accuracy, balanced accuracy, precision/recall/F1 macro, F1 weighted,
           ROC AUC, average precision, log loss, Brier, confusion matrix,
           ECE/MCE (15 uniform bins), temperature scaling (NLL, bounded scalar
           minimisation) and ECE after it;
  drift:   per column Evidently default profile for a reference > 1000 rows
           (wasserstein / std for numerical > 5 unique values, else
           jensenshannon on per-value shares);
  quality: per column missing, unique, min/max/mean; duplicate rows; class
           balance; label conflicts; PII regexes on the text column's values.
"""
import json
import re
import sys
import time

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.spatial import distance
from sklearn import metrics

COLUMNS = ["label", "score", "f0", "f1", "f2", "f3", "f4", "f5", "age", "site"]
NUMERIC = ["score", "f0", "f1", "f2", "f3", "f4", "f5", "age"]


def read(path):
    # keep_default_na=False: an empty field of the text column stays "" (as
    # shardbench counts it), numbers still parse "" / nan as NaN.
    return pd.read_csv(path, dtype={"site": str}, keep_default_na=False, na_values={c: [""] for c in NUMERIC})


def ece(conf, correct, bins=15):
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    sc = np.bincount(idx, weights=conf, minlength=bins)
    sa = np.bincount(idx, weights=correct, minlength=bins)
    nz = count > 0
    gaps = np.abs(sa[nz] / count[nz] - sc[nz] / count[nz])
    return float(np.sum(count[nz] / len(conf) * gaps)), float(gaps.max())


def eval_numbers(d):
    y = d["label"].to_numpy()
    p = d["score"].to_numpy()
    pred = (p >= 0.5).astype(np.int64)
    out = {
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "precision_macro": metrics.precision_score(y, pred, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(y, pred, average="macro", zero_division=0),
        "f1_macro": metrics.f1_score(y, pred, average="macro", zero_division=0),
        "f1_weighted": metrics.f1_score(y, pred, average="weighted", zero_division=0),
        "roc_auc": metrics.roc_auc_score(y, p),
        "average_precision": metrics.average_precision_score(y, p),
        "log_loss": metrics.log_loss(y, np.clip(p, np.finfo(float).eps, 1 - np.finfo(float).eps)),
        "brier": metrics.brier_score_loss(y, p),
        "confusion_matrix": metrics.confusion_matrix(y, pred).tolist(),
    }
    conf = np.where(pred == 1, p, 1 - p)
    out["ece"], out["mce"] = ece(conf, (pred == y).astype(float))
    eps = np.finfo(float).eps
    logit = np.log(np.clip(p, eps, 1 - eps)) - np.log(np.clip(1 - p, eps, 1 - eps))

    def nll(t):
        q = 1 / (1 + np.exp(-logit / t))
        q = np.clip(q, eps, 1 - eps)
        return -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))

    t = optimize.minimize_scalar(nll, bounds=(0.05, 20), method="bounded").x
    q = 1 / (1 + np.exp(-logit / t))
    pred_t = (q >= 0.5).astype(np.int64)
    out["temperature"] = float(t)
    out["ece_after_temperature"] = ece(np.where(pred_t == 1, q, 1 - q), (pred_t == y).astype(float))[0]
    return out


def shares(ref, cur):
    keys = np.union1d(np.unique(ref), np.unique(cur))
    r = np.array([np.count_nonzero(ref == k) for k in keys], dtype=float) / len(ref)
    c = np.array([np.count_nonzero(cur == k) for k in keys], dtype=float) / len(cur)
    for a in (r, c):
        nz = a[a != 0]
        fill = nz.min() / 1e6 if nz.min() <= 1e-4 else 1e-4
        a[a == 0] = fill
    return r, c


def drift_numbers(ref, cur):
    cols = []
    for name in ["label"] + NUMERIC + ["site"]:
        r, c = ref[name].to_numpy(), cur[name].to_numpy()
        if r.dtype.kind == "O":
            r, c = r.astype(str), c.astype(str)
        if r.dtype.kind == "f":
            r, c = r[np.isfinite(r)], c[np.isfinite(c)]
        n_values = len(np.union1d(np.unique(r), np.unique(c)))
        if r.dtype.kind in "fi" and n_values > 5:
            v = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
            cols.append({"name": name, "method": "wasserstein", "statistic": float(v), "drifted": bool(v >= 0.1)})
        else:
            rp, cp = shares(r, c)
            v = distance.jensenshannon(rp, cp)
            cols.append({"name": name, "method": "jensenshannon", "statistic": float(v), "drifted": bool(v >= 0.1)})
    share = sum(c["drifted"] for c in cols) / len(cols)
    return {"columns": cols, "share_drifted": share, "dataset_drift": share >= 0.5}


PII = {"email": re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"),
       "ipv4": re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$"),
       "us_ssn": re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")}


def quality_numbers(d):
    cols = []
    for name in COLUMNS:
        v = d[name]
        if v.dtype.kind in "fi":
            cols.append({"name": name, "missing": int(v.isna().sum()), "unique": int(v.nunique()),
                         "min": float(v.min()), "max": float(v.max()), "mean": float(v.mean())})
        else:
            counts = v.value_counts()
            missing = int(counts.get("", 0))
            counts = counts[counts.index != ""]
            pii = {}
            for kind, rx in PII.items():
                m = int(counts[counts.index.str.match(rx)].sum())
                if m and m / (len(v) - missing) >= 0.05:
                    pii[kind] = m / (len(v) - missing)
            cols.append({"name": name, "missing": missing, "unique": int(len(counts)), "pii": pii})
    features = [c for c in COLUMNS if c != "label"]
    per_group = d.groupby(features, sort=False, dropna=False)["label"].transform("nunique")
    conflict_rows = int((per_group > 1).sum())
    conflict_groups = int(d[per_group > 1].drop_duplicates(subset=features).shape[0])
    balance = d["label"].value_counts().sort_index()
    return {"rows": len(d), "columns": cols, "duplicate_rows": int(d.duplicated().sum()),
            "class_balance": [{"label": str(l), "count": int(c)} for l, c in balance.items()],
            "label_conflicts": {"groups": conflict_groups, "rows": conflict_rows}}


def main():
    data_path, ref_path, out_path = sys.argv[1:4]
    t0 = time.time()
    data = read(data_path)
    ref = read(ref_path)
    t1 = time.time()
    out = {"eval": eval_numbers(data)}
    t2 = time.time()
    out["drift"] = drift_numbers(ref, data)
    t3 = time.time()
    out["quality"] = quality_numbers(data)
    t4 = time.time()
    out["seconds"] = {"read": t1 - t0, "eval": t2 - t1, "drift": t3 - t2, "quality": t4 - t3}
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
