#!/usr/bin/python3
"""Writes eval_demo.json: an evaluation report in the `eval --json` format
(issue 5) for the demo classifier's stored scores on resources/demo/current.csv,
computed with scikit-learn. Used by tests/store and tests/governance as a
realistic stored evaluation (metrics, calibration bins, slices with bootstrap
CIs, confusion matrix). Deterministic (seeded)."""
import csv, json, os
import numpy as np
from sklearn import metrics

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", "..", ".."))
rows = list(csv.DictReader(open(os.path.join(root, "resources", "demo", "current.csv"))))
y = np.array([int(r["label"]) for r in rows])
p = np.array([float(r["score"]) for r in rows])
pred = (p >= 0.5).astype(int)
site = np.array([r["site"] for r in rows])
rng = np.random.default_rng(20240611)

def overall(y, p, pred):
    out = {
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "precision_macro": metrics.precision_score(y, pred, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(y, pred, average="macro", zero_division=0),
        "f1_macro": metrics.f1_score(y, pred, average="macro", zero_division=0),
        "f1_weighted": metrics.f1_score(y, pred, average="weighted", zero_division=0),
        "brier": metrics.brier_score_loss(y, p),
    }
    if len(set(y)) == 2:
        out["roc_auc"] = metrics.roc_auc_score(y, p)
        out["average_precision"] = metrics.average_precision_score(y, p)
        out["log_loss"] = metrics.log_loss(y, np.clip(p, np.finfo(float).eps, 1 - np.finfo(float).eps), labels=[0, 1])
    return out

def calibration(y, p, nbins=15):
    conf = np.maximum(p, 1 - p)
    correct = ((p >= 0.5).astype(int) == y).astype(float)
    edges = np.linspace(0, 1, nbins + 1)
    bins, ece, mce = [], 0.0, 0.0
    for i in range(nbins):
        lo, hi = edges[i], edges[i + 1]
        m = (conf > lo) & (conf <= hi) if i > 0 else (conf >= lo) & (conf <= hi)
        if m.sum() == 0:
            continue
        acc, c = correct[m].mean(), conf[m].mean()
        bins.append({"lower": lo, "upper": hi, "count": int(m.sum()), "confidence": c, "accuracy": acc})
        ece += m.sum() / len(y) * abs(acc - c)
        mce = max(mce, abs(acc - c))
    return {"bins": bins, "ece": ece, "mce": mce}

def ci(y, p, pred, n=200):
    vals = {}
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        for k, v in overall(y[idx], p[idx], pred[idx]).items():
            vals.setdefault(k, []).append(v)
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in vals.items()}

cal = calibration(y, p)
ov = overall(y, p, pred)
ov["ece"], ov["mce"] = cal["ece"], cal["mce"]
slices = []
for s in sorted(set(site)):
    m = site == s
    slices.append({"name": s, "expr": "site == " + s, "rows": int(m.sum()),
                   "metrics": {"accuracy": metrics.accuracy_score(y[m], pred[m]),
                               "f1_macro": metrics.f1_score(y[m], pred[m], average="macro", zero_division=0)},
                   "ci": {"accuracy": ci(y[m], p[m], pred[m])["accuracy"]}})
cm = metrics.confusion_matrix(y, pred, labels=[0, 1])
report = {"rows": len(y), "task": "binary", "overall": ov, "ci": ci(y, p, pred),
          "per_class": [{"label": str(c), "precision": pr, "recall": rc, "f1": f, "support": int(su)}
                        for c, pr, rc, f, su in zip([0, 1], *metrics.precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0))],
          "confusion_matrix": {"labels": ["0", "1"], "matrix": cm.tolist()},
          "calibration": {**cal, "adaptive_ece": None, "temperature": None, "ece_after_temperature": None},
          "slices": slices, "auto_slices": [], "gates": []}
json.dump(report, open(os.path.join(here, "eval_demo.json"), "w"), indent=1, default=float)
print("accuracy", ov["accuracy"], "ece", ov["ece"], "worst slice", min(s["metrics"]["accuracy"] for s in slices))
