#!/usr/bin/python3
"""Reference data for tests/eval: CSV inputs and the values Debian's
scikit-learn 1.2 / scipy 1.10 / numpy 1.24 compute for them.

Run with Debian's python: /usr/bin/python3 tests/data/eval/make_eval_refs.py
Deterministic (fixed seeds); writes <name>.csv and <name>.json next to itself.

Datasets (sizes on both sides of 1000 and 10000 rows):
  binary_600, binary_12000       --score column, scores rounded (ties), some 0/1
  multiclass_1500                 --proba-prefix p_, probabilities k/20 (many ties, zeros)
  regression_900, regression_11000  --pred column, some y == 0 (MAPE eps)
Calibration figures follow the definitions in issue 5 computed with numpy;
the temperature is minimised with scipy.optimize.minimize_scalar (bounded).
"""
import json
import os

import numpy as np
import scipy.optimize
import scipy.stats
from sklearn import metrics as skm

HERE = os.path.dirname(os.path.abspath(__file__))
EPS = np.finfo(np.float64).eps
SITES = np.array(["north", "south", "east", "west"])


def write_csv(name, header, columns):
    with open(os.path.join(HERE, name + ".csv"), "w", newline="") as f:
        f.write(",".join(header) + "\n")
        for row in zip(*columns):
            f.write(",".join(row) + "\n")


def fmt(values, digits):
    return [("%.*f" % (digits, v)) for v in values]


def bins_of(conf, correct, edges):
    idx = np.searchsorted(edges[1:-1], conf, side="left")
    out = []
    for b in range(len(edges) - 1):
        m = idx == b
        if not m.any():
            continue
        out.append({"lower": float(edges[b]), "upper": float(edges[b + 1]),
                    "count": int(m.sum()), "confidence": float(conf[m].mean()),
                    "accuracy": float(correct[m].mean())})
    return out


def ece_mce(bins, n):
    gaps = [abs(b["accuracy"] - b["confidence"]) for b in bins]
    return (float(sum(b["count"] / n * g for b, g in zip(bins, gaps))), float(max(gaps)))


def adaptive_ece(conf, correct, nbins):
    order = np.argsort(conf, kind="stable")
    n = len(conf)
    total = 0.0
    for part in np.array_split(order, nbins):
        if len(part) == 0:
            continue
        total += len(part) / n * abs(correct[part].mean() - conf[part].mean())
    return float(total)


def calibration(P, y_idx, pred_idx, nbins=15):
    n = len(y_idx)
    conf = P[np.arange(n), pred_idx]
    correct = (pred_idx == y_idx).astype(float)
    uni = bins_of(conf, correct, np.linspace(0, 1, nbins + 1))
    qua = bins_of(conf, correct, np.quantile(conf, np.linspace(0, 1, nbins + 1)))
    ece, mce = ece_mce(uni, n)
    qece, qmce = ece_mce(qua, n)
    z = np.log(np.clip(P, EPS, 1 - EPS))

    def nll(log_t):
        s = z / np.exp(log_t)
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(n), y_idx].mean())

    res = scipy.optimize.minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)),
                                         method="bounded", options={"xatol": 1e-12})
    T = float(np.exp(res.x))
    s = z / T
    s = s - s.max(axis=1, keepdims=True)
    PT = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    conf_t = PT[np.arange(n), pred_idx]
    ece_t, _ = ece_mce(bins_of(conf_t, correct, np.linspace(0, 1, nbins + 1)), n)
    return {"bins": uni, "ece": ece, "mce": mce,
            "adaptive_ece": adaptive_ece(conf, correct, nbins),
            "quantile_bins": qua, "quantile_ece": qece, "quantile_mce": qmce,
            "temperature": T, "ece_after_temperature": ece_t,
            "nll_before": nll(0.0), "nll_after_temperature": nll(res.x)}


def classification_overall(y, pred, labels, auc, ap, ll, brier):
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    macro = skm.precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    weighted = skm.precision_recall_fscore_support(y, pred, average="weighted", zero_division=0)
    overall = {"accuracy": skm.accuracy_score(y, pred),
               "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
               "precision_macro": macro[0], "recall_macro": macro[1], "f1_macro": macro[2],
               "f1_weighted": weighted[2], "roc_auc": auc, "average_precision": ap,
               "log_loss": ll, "brier": brier}
    per_class = [{"label": l, "precision": float(a), "recall": float(b), "f1": float(c),
                  "support": int(d)} for l, a, b, c, d in zip(labels, p, r, f, s)]
    cm = skm.confusion_matrix(y, pred, labels=labels).tolist()
    return {k: float(v) for k, v in overall.items()}, per_class, cm


def binary(n, seed):
    rng = np.random.default_rng(seed)
    site = rng.choice(SITES, n)
    age = rng.integers(20, 90, n)
    y = rng.integers(0, 2, n)
    logit = (2 * y - 1) * 1.6 + rng.normal(0, 1.3, n)
    weak = site == "west"  # a weak slice: the score carries less signal there
    logit[weak] = (2 * y[weak] - 1) * 0.2 + rng.normal(0, 1.5, weak.sum())
    score = np.round(1 / (1 + np.exp(-logit)), 3)
    score[rng.choice(n, 5, replace=False)] = 0.0
    score[rng.choice(n, 5, replace=False)] = 1.0
    name = "binary_%d" % n
    text = fmt(score, 3)
    score = np.array([float(t) for t in text])
    write_csv(name, ["id", "site", "age", "label", "score"],
              [[str(i) for i in range(n)], list(site), [str(a) for a in age],
               [str(v) for v in y], text])
    pred = (score >= 0.5).astype(int)
    P = np.stack([1 - score, score], axis=1)
    overall, per_class, cm = classification_overall(
        y, pred, [0, 1], skm.roc_auc_score(y, score), skm.average_precision_score(y, score),
        skm.log_loss(y, score), skm.brier_score_loss(y, score))
    cal = calibration(P, y, pred)
    overall["ece"], overall["mce"] = cal["ece"], cal["mce"]
    mask = (site == "north") & (age >= 50)
    slice_ = {"name": "old_north", "expr": "site == north and age >= 50",
              "rows": int(mask.sum()), "accuracy": float(skm.accuracy_score(y[mask], pred[mask])),
              "roc_auc": float(skm.roc_auc_score(y[mask], score[mask]))}
    # Planted weak slice: one-sided pooled two-proportion z-test vs the complement.
    c = (pred == y).astype(float)
    n1, n2 = weak.sum(), (~weak).sum()
    p1, p2 = c[weak].mean(), c[~weak].mean()
    pooled = c.mean()
    zstat = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    weak_slice = {"expr": "site == west", "rows": int(n1), "accuracy": float(p1),
                  "p_value": float(scipy.stats.norm.sf(zstat))}
    return name, {"task": "classification", "rows": n, "overall": overall,
                  "per_class": per_class, "confusion_matrix": {"labels": [0, 1], "matrix": cm},
                  "calibration": cal, "slice": slice_, "weak_slice": weak_slice}


def multiclass(n, seed):
    rng = np.random.default_rng(seed)
    labels = ["ant", "bee", "cat", "dog"]
    K = len(labels)
    y = rng.integers(0, K, n)
    base = rng.dirichlet(np.ones(K) * 0.8, n)
    base[np.arange(n), y] += rng.uniform(0, 0.9, n)
    base /= base.sum(axis=1, keepdims=True)
    counts = np.array([rng.multinomial(20, p) for p in base])  # probabilities k/20: ties, zeros
    P = counts / 20.0
    name = "multiclass_%d" % n
    order = [2, 0, 3, 1]  # columns not in label order in the file
    write_csv(name, ["label"] + ["p_" + labels[k] for k in order] + ["group"],
              [[labels[v] for v in y]] + [fmt(P[:, k], 2) for k in order] +
              [list(rng.choice(["g1", "g2"], n))])
    P = np.array([[float("%.2f" % v) for v in row] for row in P])
    pred = P.argmax(axis=1)
    ys = np.array(labels)[y]
    ps = np.array(labels)[pred]
    onehot = np.eye(K)[y]
    overall, per_class, cm = classification_overall(
        ys, ps, labels, skm.roc_auc_score(ys, P, multi_class="ovr", average="macro"),
        # sklearn 1.2 rejects multiclass y here: one-vs-rest macro by hand.
        float(np.mean([skm.average_precision_score(y == k, P[:, k]) for k in range(K)])),
        skm.log_loss(ys, P),
        float(((P - onehot) ** 2).sum(axis=1).mean()))
    cal = calibration(P, y, pred)
    overall["ece"], overall["mce"] = cal["ece"], cal["mce"]
    return name, {"task": "classification", "rows": n, "overall": overall,
                  "per_class": per_class, "confusion_matrix": {"labels": labels, "matrix": cm},
                  "calibration": cal}


def regression(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    y = np.round(3 * x + rng.normal(0, 1, n), 4)
    y[rng.choice(n, 7, replace=False)] = 0.0
    yhat = np.round(2.8 * x + 0.1 + rng.normal(0, 0.3, n), 4)
    name = "regression_%d" % n
    write_csv(name, ["x", "target", "yhat"], [fmt(x, 5), fmt(y, 4), fmt(yhat, 4)])
    y = np.array([float("%.4f" % v) for v in y])
    yhat = np.array([float("%.4f" % v) for v in yhat])
    overall = {"mae": skm.mean_absolute_error(y, yhat),
               "rmse": float(np.sqrt(skm.mean_squared_error(y, yhat))),
               "r2": skm.r2_score(y, yhat),
               "mape": skm.mean_absolute_percentage_error(y, yhat)}
    return name, {"task": "regression", "rows": n,
                  "overall": {k: float(v) for k, v in overall.items()}}


def main():
    for name, ref in [binary(600, 1), binary(12000, 2), multiclass(1500, 3),
                      regression(900, 4), regression(11000, 5)]:
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(ref, f, indent=1, sort_keys=True)
            f.write("\n")
        print(name, ref["overall"])


if __name__ == "__main__":
    main()
