#!/usr/bin/python3
"""Fixtures and scikit-learn references for the robustness, poisoning and
privacy tests (tests/eval_risk). Run with Debian's /usr/bin/python3 (needs
python3-torch, python3-sklearn, python3-numpy, python3-onnx); deterministic:
fixed seeds, single-threaded torch.

Writes, beside this script:
  demo_train_flipped.csv   the demo classifier's training split (190 rows,
                           reproduced from resources/demo/make_demo.py) with
                           5 % of the labels flipped; oof_0/oof_1 = out-of-fold
                           P(class) of a 5-fold logistic regression on the
                           flipped labels (for confident learning)
  demo_train_flipped.json  the flipped rows and the references: kNN label
                           disagreement (sklearn StandardScaler +
                           NearestNeighbors(n_neighbors=k).kneighbors()) for
                           k = 5 and 10, confident-learning issues (numpy)
  mia_train.csv, mia_test.csv        synthetic data (make_classification with
                           30 % label noise), 200 + 200 rows, features f00..f19,
                           label, group (a/b, a slice column)
  mia_overfit.onnx         MLP 20-128-128-2 trained to memorise mia_train.csv
  mia_regularised.onnx     MLP 20-16-2, weight decay, few steps
  mia_<model>_{train,test}_scores.csv  torch's probabilities (proba_0, proba_1)
                           with label and group, for the --*-scores path
  mia_reference.json       sklearn roc_auc_score / roc_curve of both attacks
                           for both models, overall and for group == a
  images.npy, image_labels.npy       64 synthetic 1x12x12 bar images (class 0
                           horizontal, 1 vertical), float32; int64 labels
  image_cnn.onnx           a small CNN classifying them (Softmax output)
  missing_aware.onnx       logistic regression on the demo features whose
                           graph imputes missing inputs (IsNaN -> Where, the
                           training means) before standardising: a model whose
                           preprocessing allows missing values
And resources/demo/train.csv: the demo classifier's clean training split
(features and label), the members for the Evaluation page's privacy check.
"""

import csv
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import cross_val_predict
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "resources", "demo"))
import make_demo  # noqa: E402  (the split and the column names)

torch.set_num_threads(1)
EPS = np.finfo(np.float64).eps


def write_rows(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def read_matrix(path, columns):
    with open(path) as fh:
        r = csv.DictReader(fh)
        rows = list(r)
    return np.array([[float(row[c]) for c in columns] for row in rows]), rows


# ---------------------------------------------------------------------------
# Demo training split with flipped labels
# ---------------------------------------------------------------------------


def demo_fixtures():
    rng = np.random.default_rng(make_demo.SEED)
    data = load_breast_cancer()
    columns = [make_demo.snake(n) for n in data.feature_names]
    x_all = data.data.astype(np.float64)
    labels = (data.target == 0).astype(int)
    train, _, _ = make_demo.split_rows(labels, rng)
    x = make_demo.round_features(x_all[train])
    y = labels[train]
    write_rows(os.path.join(ROOT, "resources", "demo", "train.csv"), columns + ["label"],
               [[make_demo.fmt_feature(v) for v in x[i]] + [int(y[i])] for i in range(len(y))])

    flip_rng = np.random.default_rng(18)
    n = len(y)
    flipped = np.sort(flip_rng.choice(n, size=int(round(0.05 * n)), replace=False))
    y_noisy = y.copy()
    y_noisy[flipped] = 1 - y_noisy[flipped]
    oof = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                            x, y_noisy, cv=5, method="predict_proba")
    path = os.path.join(HERE, "demo_train_flipped.csv")
    write_rows(path, columns + ["label", "oof_0", "oof_1"],
               [[make_demo.fmt_feature(v) for v in x[i]] + [int(y_noisy[i])]
                + [repr(float(oof[i, 0])), repr(float(oof[i, 1]))] for i in range(n)])

    # References on the values exactly as written.
    xs, rows = read_matrix(path, columns)
    yl = np.array([int(r["label"]) for r in rows])
    p = np.array([[float(r["oof_0"]), float(r["oof_1"])] for r in rows])
    z = StandardScaler().fit_transform(xs)
    knn = {}
    for k in (5, 10):
        _, idx = NearestNeighbors(n_neighbors=k).fit(z).kneighbors()
        knn[str(k)] = [float(np.mean(yl[idx[i]] != yl[i])) for i in range(n)]
    thresholds = [float(p[yl == j, j].mean()) for j in range(2)]
    issues = []
    for i in range(n):
        above = [j for j in range(2) if p[i, j] >= thresholds[j]]
        if above:
            best = max(above, key=lambda j: p[i, j])
            if best != yl[i]:
                issues.append(i)
    ref = {"rows": n, "flipped": [int(i) for i in flipped], "knn_disagreement": knn,
           "confident_learning": {"thresholds": thresholds, "issues": issues}}
    with open(os.path.join(HERE, "demo_train_flipped.json"), "w") as fh:
        json.dump(ref, fh, indent=1)
    print(f"demo train: {n} rows, flipped {len(flipped)}: {list(map(int, flipped))}; "
          f"CL issues {len(issues)}")


# ---------------------------------------------------------------------------
# Membership inference: an overfit and a regularised MLP
# ---------------------------------------------------------------------------


class Mlp(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        layers, width = [], 20
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return torch.softmax(self.net(x), dim=-1)


def train_mlp(x, y, hidden, steps, weight_decay, lr):
    torch.manual_seed(18)
    model = Mlp(hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model.net(xt), yt)
        loss.backward()
        opt.step()
    model.eval()
    return model


def attack_reference(p_members, y_members, p_non, y_non):
    p = np.concatenate([p_members, p_non])
    y = np.concatenate([y_members, y_non])
    member = np.concatenate([np.ones(len(y_members)), np.zeros(len(y_non))])
    out = {}
    for name, score in (("loss_threshold", np.log(np.maximum(p[np.arange(len(y)), y], EPS))),
                        ("confidence_threshold", p.max(axis=1))):
        fpr, tpr, _ = roc_curve(member, score)
        out[name] = {"auc": float(roc_auc_score(member, score)),
                     "advantage": float(np.max(tpr - fpr))}
    return out


def mia_fixtures():
    x, y = make_classification(n_samples=400, n_features=20, n_informative=5, n_redundant=2,
                               flip_y=0.3, class_sep=1.0, random_state=18)
    x = np.round(x, 5)
    group = np.where(np.random.default_rng(18).random(400) < 0.5, "a", "b")
    names = [f"f{j:02d}" for j in range(20)]
    sets = {"train": slice(0, 200), "test": slice(200, 400)}
    for split, s in sets.items():
        write_rows(os.path.join(HERE, f"mia_{split}.csv"), names + ["label", "group"],
                   [[repr(float(v)) for v in x[i]] + [int(y[i]), group[i]]
                    for i in range(400)[s]])
    models = {"overfit": train_mlp(x[:200], y[:200], [128, 128], 2000, 0.0, 3e-3),
              "regularised": train_mlp(x[:200], y[:200], [16], 40, 5e-2, 1e-2)}
    reference = {}
    for name, model in models.items():
        path = os.path.join(HERE, f"mia_{name}.onnx")
        torch.onnx.export(model, torch.zeros(1, 20), path, input_names=["features"],
                          output_names=["probabilities"],
                          dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
                          opset_version=17, do_constant_folding=True)
        probs = {}
        for split, s in sets.items():
            with torch.no_grad():
                p = model(torch.tensor(x[s], dtype=torch.float32)).numpy().astype(np.float64)
            probs[split] = p
            write_rows(os.path.join(HERE, f"mia_{name}_{split}_scores.csv"),
                       ["proba_0", "proba_1", "label", "group"],
                       [[repr(float(p[i, 0])), repr(float(p[i, 1])), int(y[s][i]), group[s][i]]
                        for i in range(len(p))])
        # References from the values as written (float64 of float32).
        ref = {"overall": attack_reference(probs["train"], y[:200], probs["test"], y[200:])}
        a_tr, a_te = group[:200] == "a", group[200:] == "a"
        ref["group_a"] = attack_reference(probs["train"][a_tr], y[:200][a_tr],
                                          probs["test"][a_te], y[200:][a_te])
        acc_tr = float(np.mean(probs["train"].argmax(1) == y[:200]))
        acc_te = float(np.mean(probs["test"].argmax(1) == y[200:]))
        ref["accuracy"] = {"train": acc_tr, "test": acc_te}
        reference[name] = ref
        print(f"{name}: train acc {acc_tr:.3f}, test acc {acc_te:.3f}, "
              f"loss-attack AUC {ref['overall']['loss_threshold']['auc']:.4f}, "
              f"confidence-attack AUC {ref['overall']['confidence_threshold']['auc']:.4f}")
    with open(os.path.join(HERE, "mia_reference.json"), "w") as fh:
        json.dump(reference, fh, indent=1)


# ---------------------------------------------------------------------------
# Images: bars, and a small CNN
# ---------------------------------------------------------------------------


class BarCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4 * 12 * 12, 2)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return torch.softmax(self.head(torch.flatten(h, 1)), dim=-1)


def image_fixtures():
    rng = np.random.default_rng(18)
    n = 64
    images = np.zeros((n, 1, 12, 12), dtype=np.float32)
    labels = np.arange(n) % 2
    for i in range(n):
        pos = rng.integers(2, 10)
        if labels[i] == 0:
            images[i, 0, pos, 1:11] = 1.0
        else:
            images[i, 0, 1:11, pos] = 1.0
        images[i] += rng.normal(0, 0.1, size=(1, 12, 12)).astype(np.float32)
    torch.manual_seed(18)
    model = BarCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.tensor(images), torch.tensor(labels)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.nll_loss(torch.log(model(xt) + 1e-9), yt).backward()
        opt.step()
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 12, 12), os.path.join(HERE, "image_cnn.onnx"),
                      input_names=["image"], output_names=["probabilities"],
                      dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
                      opset_version=17, do_constant_folding=True)
    np.save(os.path.join(HERE, "images.npy"), images)
    np.save(os.path.join(HERE, "image_labels.npy"), labels.astype(np.int64))
    with torch.no_grad():
        acc = float(np.mean(model(xt).numpy().argmax(1) == labels))
    print(f"images: {n}, CNN accuracy {acc:.3f}")


# ---------------------------------------------------------------------------
# A model that handles missing inputs in its graph
# ---------------------------------------------------------------------------


def missing_fixture():
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(make_demo.SEED)
    data = load_breast_cancer()
    labels = (data.target == 0).astype(int)
    train, _, _ = make_demo.split_rows(labels, rng)
    x = make_demo.round_features(data.data.astype(np.float64)[train])
    y = labels[train]
    mean, std = x.mean(axis=0), x.std(axis=0)
    lr = LogisticRegression(max_iter=2000).fit((x - mean) / std, y)
    # Two-class logits [-z, z] / 2 -> Softmax gives [1 - p, p].
    w = np.stack([-lr.coef_[0], lr.coef_[0]], axis=1) / 2.0
    b = np.array([-lr.intercept_[0], lr.intercept_[0]]) / 2.0
    init = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in
            ((mean, "feature_mean"), (std, "feature_std"), (w, "weight"), (b, "bias"))]
    nodes = [helper.make_node("IsNaN", ["features"], ["is_missing"], name="is_missing"),
             helper.make_node("Where", ["is_missing", "feature_mean", "features"], ["imputed"],
                              name="impute_mean"),
             helper.make_node("Sub", ["imputed", "feature_mean"], ["centred"], name="centre"),
             helper.make_node("Div", ["centred", "feature_std"], ["scaled"], name="scale"),
             helper.make_node("MatMul", ["scaled", "weight"], ["logits0"], name="linear"),
             helper.make_node("Add", ["logits0", "bias"], ["logits"], name="bias"),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1, name="softmax")]
    graph = helper.make_graph(
        nodes, "missing_aware", [helper.make_tensor_value_info("features", TensorProto.FLOAT,
                                                               ["batch", 30])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="make_risk_fixtures")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "missing_aware.onnx"))
    print(f"missing_aware: train accuracy {lr.score((x - mean) / std, y):.3f}")


if __name__ == "__main__":
    missing_fixture()
    demo_fixtures()
    mia_fixtures()
    image_fixtures()
