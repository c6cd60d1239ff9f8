#!/usr/bin/python3
"""Generates Shardbench's bundled demo content (see README.md in this folder).

Outputs, all written beside this script:
  classifier.onnx          MLP trained on scikit-learn's breast-cancer data
  reference.csv            reference window (labels, model scores, slice columns)
  current.csv              current window with a documented, realistic shift
  classifier_input.npy     16 rows of current.csv features (float32 [16,30])
  classifier_expected.npy  torch's probabilities for those rows (float32 [16,2])
  decoder.onnx             GPT-like decoder, seeded random weights
  decoder_input.npy        demo token ids, int64 [8,64]

Needs only Debian packages (python3-torch, python3-sklearn, python3-scipy,
python3-numpy, python3-onnx); no downloads. Fully deterministic: running it
twice gives identical CSV/npy contents and identical ONNX weights.

Usage: /usr/bin/python3 resources/demo/make_demo.py [--skip-decoder]
"""

import argparse
import csv
import datetime as dt
import math
import os
import re
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from scipy import stats
from sklearn.datasets import load_breast_cancer

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240611

# ---------------------------------------------------------------------------
# Data set and the reference/current split
# ---------------------------------------------------------------------------

# Existing hospitals in both windows, and the site that only appears in the
# current window (with a mis-calibrated imaging pipeline).
OLD_SITES = ["north_general", "st_anne", "riverside"]
OLD_SITE_WEIGHTS = [0.45, 0.33, 0.22]
NEW_SITE = "lakeside_clinic"

# Calibration fault at the new site: the digitiser's pixel spacing is
# configured wrong, so every length reads 12 % low (areas 0.88^2 low) and a
# different camera gain inflates grey-level texture by 25 %. Shape features
# that are dimensionless ratios (smoothness, compactness, concavity,
# symmetry, fractal dimension) are unaffected.
LENGTH_SCALE = 0.82
TEXTURE_SCALE = 1.25


def snake(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def calibration_factor(column):
    if column.endswith("radius") or column.endswith("perimeter") or column == "radius_error" \
            or column == "perimeter_error":
        return LENGTH_SCALE
    if column.endswith("area") or column == "area_error":
        return LENGTH_SCALE ** 2
    if "texture" in column:
        return TEXTURE_SCALE
    return 1.0


def split_rows(labels, rng):
    """Returns (train, reference, current) row index arrays.

    Malignant = label 1 (the positive class). Counts are chosen so the
    current window has a heavier malignant case mix (about 42 % against
    34 % in the reference window), as when a referral pattern changes.
    """
    malignant = rng.permutation(np.flatnonzero(labels == 1))
    benign = rng.permutation(np.flatnonzero(labels == 0))
    assert len(malignant) == 212 and len(benign) == 357
    m_train, m_ref = 70, 72  # current gets the remaining 70
    b_train, b_ref = 120, 140  # current gets the remaining 97
    train = np.concatenate([malignant[:m_train], benign[:b_train]])
    ref = np.concatenate([malignant[m_train:m_train + m_ref], benign[b_train:b_train + b_ref]])
    cur = np.concatenate([malignant[m_train + m_ref:], benign[b_train + b_ref:]])
    return rng.permutation(train), rng.permutation(ref), rng.permutation(cur)


# ---------------------------------------------------------------------------
# Classifier
# ---------------------------------------------------------------------------


class BreastCancerClassifier(nn.Module):
    """Raw feature columns in, class probabilities out.

    Standardisation is part of the graph (Sub/Div by stored statistics) so a
    caller feeds the CSV columns as they are.
    """

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("feature_mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("feature_std", torch.tensor(std, dtype=torch.float32))
        self.hidden1 = nn.Linear(30, 32)
        self.hidden2 = nn.Linear(32, 16)
        self.head = nn.Linear(16, 2)

    def logits(self, features):
        x = (features - self.feature_mean) / self.feature_std
        x = torch.relu(self.hidden1(x))
        x = torch.relu(self.hidden2(x))
        return self.head(x)

    def forward(self, features):
        return torch.softmax(self.logits(features), dim=-1)


def train_classifier(x_train, y_train):
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    model = BreastCancerClassifier(mean, std)
    xt = torch.tensor(x_train, dtype=torch.float32)
    yt = torch.tensor(y_train, dtype=torch.int64)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(200):  # full batch: deterministic, 190 rows
        opt.zero_grad()
        loss = loss_fn(model.logits(xt), yt)
        loss.backward()
        opt.step()
    model.eval()
    return model, float(loss)


def export_onnx(model, example, path, input_names, output_names, dynamic_axes, opset):
    torch.onnx.export(model, example, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    return proto


# ---------------------------------------------------------------------------
# Slice columns that are not model inputs
# ---------------------------------------------------------------------------


def patient_ages(labels, rng):
    # Malignant cases skew older; clipped to an adult range, whole years.
    centre = np.where(labels == 1, 57.0, 48.0)
    return np.clip(np.round(rng.normal(centre, 11.0)), 24, 89).astype(int)


def timestamps(n, start, days, rng):
    # Working hours only, spread uniformly over the window.
    out = []
    for _ in range(n):
        day = start + dt.timedelta(days=int(rng.integers(0, days)))
        if day.weekday() >= 5:  # weekend: back to Friday, stays inside the window
            day -= dt.timedelta(days=day.weekday() - 4)
        minute = int(rng.integers(8 * 60, 18 * 60))
        second = int(rng.integers(0, 60))
        out.append(dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, second,
                               tzinfo=dt.timezone.utc))
    return out


def fmt_feature(v):
    return f"{v:.6g}"


def write_csv(path, columns, x, labels, scores, sites, ages, times):
    order = np.argsort(np.array([t.timestamp() for t in times]), kind="stable")
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["timestamp", "site", "patient_age"] + columns + ["label", "score", "pred"])
        for i in order:
            w.writerow([times[i].strftime("%Y-%m-%dT%H:%M:%SZ"), sites[i], int(ages[i])]
                       + [fmt_feature(v) for v in x[i]]
                       + [int(labels[i]), f"{scores[i]:.6f}", int(scores[i] >= 0.5)])


def round_features(x):
    # What the CSV holds is what the model scores: round first.
    return np.array([[float(fmt_feature(v)) for v in row] for row in x])


def make_classifier():
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    data = load_breast_cancer()
    columns = [snake(n) for n in data.feature_names]
    x_all = data.data.astype(np.float64)
    labels = (data.target == 0).astype(int)  # sklearn: 0 = malignant -> our positive class

    train, ref, cur = split_rows(labels, rng)
    model, loss = train_classifier(x_all[train], labels[train])

    # Slice columns.
    ref_sites = rng.choice(OLD_SITES, size=len(ref), p=OLD_SITE_WEIGHTS)
    ref_times = timestamps(len(ref), dt.date(2025, 1, 6), 42, rng)
    cur_times = timestamps(len(cur), dt.date(2025, 2, 17), 42, rng)
    # The new site starts sending cases two weeks into the current window
    # and takes about 35 % of the cases from then on.
    site_start = dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)
    cur_sites = []
    for t in cur_times:
        if t >= site_start and rng.random() < 0.55:
            cur_sites.append(NEW_SITE)
        else:
            cur_sites.append(str(rng.choice(OLD_SITES, p=OLD_SITE_WEIGHTS)))
    cur_sites = np.array(cur_sites)
    ref_ages = patient_ages(labels[ref], rng)
    cur_ages = patient_ages(labels[cur], rng)

    x_ref = round_features(x_all[ref])
    x_cur = x_all[cur].copy()
    factors = np.array([calibration_factor(c) for c in columns])
    at_new_site = cur_sites == NEW_SITE
    x_cur[at_new_site] *= factors
    x_cur = round_features(x_cur)

    with torch.no_grad():
        s_ref = model(torch.tensor(x_ref, dtype=torch.float32))[:, 1].numpy().astype(np.float64)
        s_cur = model(torch.tensor(x_cur, dtype=torch.float32))[:, 1].numpy().astype(np.float64)

    write_csv(os.path.join(HERE, "reference.csv"), columns, x_ref, labels[ref], s_ref, ref_sites,
              ref_ages, ref_times)
    write_csv(os.path.join(HERE, "current.csv"), columns, x_cur, labels[cur], s_cur, cur_sites,
              cur_ages, cur_times)

    path = os.path.join(HERE, "classifier.onnx")
    proto = export_onnx(model, torch.zeros(1, 30), path, ["features"], ["probabilities"],
                        {"features": {0: "batch"}, "probabilities": {0: "batch"}}, 17)

    # Conformance pair for the engine: the first 16 current rows (in file
    # order, i.e. by timestamp) and torch's probabilities for them.
    order = np.argsort(np.array([t.timestamp() for t in cur_times]), kind="stable")
    sample = x_cur[order[:16]].astype(np.float32)
    with torch.no_grad():
        expected = model(torch.tensor(sample)).numpy().astype(np.float32)
    np.save(os.path.join(HERE, "classifier_input.npy"), sample)
    np.save(os.path.join(HERE, "classifier_expected.npy"), expected)

    # Summary for the README.
    def acc(s, y):
        return float(np.mean((s >= 0.5).astype(int) == y))

    print(f"classifier: final train loss {loss:.4f}, {len(proto.graph.node)} nodes, "
          f"{sum(p.numel() for p in model.parameters()) + 60} initializer values")
    print(f"rows: train {len(train)} (not shipped), reference {len(ref)}, current {len(cur)}")
    print(f"malignant share: reference {labels[ref].mean():.3f}, current {labels[cur].mean():.3f}")
    print(f"accuracy: reference {acc(s_ref, labels[ref]):.3f}, current {acc(s_cur, labels[cur]):.3f}")
    for site in OLD_SITES + [NEW_SITE]:
        m = cur_sites == site
        if m.any():
            print(f"  current {site:16s} n={m.sum():3d} accuracy {acc(s_cur[m], labels[cur][m]):.3f}")
    for site in OLD_SITES:
        m = ref_sites == site
        print(f"  reference {site:14s} n={m.sum():3d} accuracy {acc(s_ref[m], labels[ref][m]):.3f}")
    flagged = []
    for j, c in enumerate(columns):
        p = stats.ks_2samp(x_ref[:, j], x_cur[:, j]).pvalue
        if p < 0.05:
            flagged.append(f"{c} (p={p:.2g})")
    print(f"KS p<0.05 on {len(flagged)}/30 features: " + ", ".join(flagged))
    p_age = stats.ks_2samp(ref_ages, cur_ages).pvalue
    p_score = stats.ks_2samp(s_ref, s_cur).pvalue
    print(f"KS patient_age p={p_age:.3g}, score p={p_score:.3g}")


# ---------------------------------------------------------------------------
# GPT-like decoder
# ---------------------------------------------------------------------------


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_head, max_seq):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        causal = torch.tril(torch.ones(max_seq, max_seq, dtype=torch.bool))
        self.register_buffer("causal_mask", causal.view(1, 1, max_seq, max_seq), persistent=False)

    def forward(self, x):
        b, t, c = x.size()
        hd = c // self.n_head
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, t, self.n_head, hd).transpose(1, 2)
        k = k.view(b, t, self.n_head, hd).transpose(1, 2)
        v = v.view(b, t, self.n_head, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(~self.causal_mask[:, :, :t, :t], float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, d_model, n_head, max_seq):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head, max_seq)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Decoder(nn.Module):
    def __init__(self, vocab, d_model, n_layer, n_head, max_seq):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(max_seq, d_model)
        self.blocks = nn.ModuleList([Block(d_model, n_head, max_seq) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab, bias=False)
        # GPT-2 style init so activations stay in a sane range.
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.normal_(m.bias, std=0.02)
            if isinstance(m, nn.LayerNorm):
                nn.init.normal_(m.weight, mean=1.0, std=0.05)
                nn.init.normal_(m.bias, std=0.02)

    def forward(self, input_ids):
        t = input_ids.size(1)
        pos = torch.arange(t, dtype=torch.int64, device=input_ids.device)
        x = self.tok_emb(input_ids) + self.pos_emb(pos)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


DECODER_CONFIG = dict(vocab=4096, d_model=256, n_layer=6, n_head=8, max_seq=64)


def make_decoder(config, path, input_path=None, opset=17, seed=SEED):
    torch.manual_seed(seed)
    model = Decoder(**config).eval()
    example = torch.randint(0, config["vocab"], (2, 16), dtype=torch.int64)
    proto = export_onnx(model, example, path, ["input_ids"], ["logits"],
                        {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
                        opset)
    if input_path:
        ids = np.random.default_rng(seed).integers(0, config["vocab"], size=(8, config["max_seq"]),
                                                   dtype=np.int64)
        np.save(input_path, ids)
    params = sum(p.numel() for p in model.parameters())
    return model, proto, params


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-decoder", action="store_true")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    make_classifier()
    if not args.skip_decoder:
        _, proto, params = make_decoder(DECODER_CONFIG, os.path.join(HERE, "decoder.onnx"),
                                        os.path.join(HERE, "decoder_input.npy"))
        size = os.path.getsize(os.path.join(HERE, "decoder.onnx"))
        print(f"decoder: {params} parameters, {len(proto.graph.node)} nodes, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
