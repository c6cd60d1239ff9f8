#!/usr/bin/python3
"""Generates the small model fixtures in this folder and manifest.json.

One PyTorch-exported ONNX model per family the importer and the engine must
handle (ResNet, MobileNet, BERT-like encoder, GPT-like decoder, MLP, plus a
model with a batch size baked into a Reshape), seeded random weights, opsets
13..17. For every model it writes

  <name>.onnx              the exported model
  <name>.in<K>.npy         inputs, batch 2
  <name>.torch_out<K>.npy  PyTorch's outputs
  <name>.ort_out<K>.npy    ONNX Runtime's outputs (bench/ort_run.js)

and a manifest entry with the parameter count (see PARAM_COUNT_RULE), the
opset, and the torch-vs-ORT error figures. The demo models under
resources/demo are listed too (with small inputs and their ORT outputs
stored here), so engine tests can check them.

ONNX Runtime comes from npm, installed outside the repo:
  npm install --ignore-scripts --prefix bench/.ort onnxruntime-node
Usage: /usr/bin/python3 tests/data/models/make_models.py
Deterministic: fixed seeds, single-threaded torch.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
ORT_RUN = os.path.join(ROOT, "bench", "ort_run.js")
BATCH = 2

PARAM_COUNT_RULE = (
    "Number of scalar values held by the ONNX graph's initializers, which equals the exporting "
    "framework's own count: sum(p.numel() for p in model.parameters()) plus the BatchNorm "
    "running_mean and running_var buffers (num_batches_tracked is not exported) plus any other "
    "registered persistent buffer the graph uses (the classifier's feature_mean/feature_std). "
    "Models with BatchNorm are exported with training=TrainingMode.PRESERVE on an eval-mode "
    "model: inference-mode BatchNormalization nodes, but the exporter's eval peephole pass that "
    "folds BatchNorm into the preceding Conv is not run (TrainingMode.EVAL would fold it and "
    "change the count). make_models.py asserts framework count == initializer count == "
    "param_count for every model.")
FLOPS_RULE = (
    "matmul_conv_flops: FLOPs of the model's matrix products and convolutions at the manifest "
    "inputs (batch 2), counting a multiply-add as 2 and no bias adds, as the exporting "
    "framework counts them: the sum of torch.profiler(with_flops=True) figures for aten::conv2d, "
    "aten::addmm, aten::mm and aten::bmm in one forward pass. This equals the sum over the ONNX "
    "graph's Conv, Gemm and MatMul nodes of 2 * output elements * reduction length.")
ERROR_RULE = (
    "torch_vs_ort per output: max_abs_err = max|torch - ort|; max_rel_err = max_abs_err / "
    "max|ort| (error relative to the output's magnitude).")


def load_make_demo():
    spec = importlib.util.spec_from_file_location(
        "make_demo", os.path.join(ROOT, "resources", "demo", "make_demo.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + identity)


class ResNetTiny(nn.Module):
    """ResNet-18 layout (stem, 4 stages of BasicBlocks, GAP, FC), narrow."""

    def __init__(self, widths=(8, 16, 32, 64), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers = []
        cin = widths[0]
        for i, w in enumerate(widths):
            layers.append(nn.Sequential(BasicBlock(cin, w, 1 if i == 0 else 2)))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetTiny(nn.Module):
    """MobileNetV2 layout, narrow: depthwise convs, ReLU6 (Clip), residuals."""

    def __init__(self, classes=10):
        super().__init__()
        cfg = [(1, 8, 1, 1), (4, 12, 2, 2), (4, 16, 2, 2), (4, 24, 1, 1)]  # t, c, n, s
        layers = [nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6()]
        cin = 8
        for t, c, n, s in cfg:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [nn.Conv2d(cin, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, classes))

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))


class BertSelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)

    def split(self, x):
        b, t, d = x.size()
        return x.view(b, t, self.heads, d // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / (q.size(-1) ** 0.5)
        probs = torch.softmax(scores + additive_mask, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size(0), ctx.size(1), -1)


class BertAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.self = BertSelfAttention(d, heads)
        self.output = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, additive_mask):
        return self.norm(x + self.dropout(self.output(self.self(x, additive_mask))))


class BertLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.attention = BertAttention(d, heads)
        self.intermediate = nn.Sequential(nn.Linear(d, ff), nn.GELU())
        self.output = nn.Linear(ff, d)
        self.norm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x, additive_mask):
        x = self.attention(x, additive_mask)
        return self.norm(x + self.output(self.intermediate(x)))


class BertEncoderModel(nn.Module):
    """BERT layout: word+position+token-type embeddings, post-LN layers with
    an additive attention mask from a 0/1 padding mask, Tanh pooler."""

    def __init__(self, vocab=1000, d=64, layers=2, heads=4, ff=256, max_pos=64):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(max_pos, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.emb_norm = nn.LayerNorm(d, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(max_pos).unsqueeze(0), persistent=False)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([BertLayer(d, heads, ff) for _ in range(layers)])
        self.pooler = nn.Linear(d, d)

    def forward(self, input_ids, attention_mask):
        t = input_ids.size(1)
        pos = self.position_ids[:, :t]
        token_type = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos) \
            + self.token_type_embeddings(token_type)
        x = self.emb_norm(x)
        additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.encoder.layer:
            x = layer(x, additive)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return x, pooled


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return torch.softmax(self.fc3(x), dim=1)


class BakedBatch(nn.Module):
    """The classic export mistake: the batch size is a Python int in view(),
    so the exported Reshape holds the constant [2, 64] although the graph
    input declares a symbolic batch. Runs only at batch 2."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 16)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        h = torch.relu(self.proj(x))  # [batch, 4, 16]
        return self.head(h.view(2, 64))


def make_gpt_tiny(demo):
    """The demo decoder's architecture at d 64, but with the causal mask made
    at run time by Trilu (torch.triu) instead of sliced from a constant."""

    class TriluAttention(demo.CausalSelfAttention):
        def forward(self, x):
            b, t, c = x.size()
            hd = c // self.n_head
            q, k, v = self.qkv(x).split(c, dim=2)
            q = q.view(b, t, self.n_head, hd).transpose(1, 2)
            k = k.view(b, t, self.n_head, hd).transpose(1, 2)
            v = v.view(b, t, self.n_head, hd).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / hd ** 0.5)
            future = torch.triu(torch.ones(t, t, dtype=torch.float32), diagonal=1) > 0.5
            att = att.masked_fill(future, float("-inf"))
            y = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(b, t, c)
            return self.proj(y)

    model = demo.Decoder(vocab=512, d_model=64, n_layer=2, n_head=4, max_seq=32)
    for block in model.blocks:
        old = block.attn
        new = TriluAttention(64, 4, 32)
        new.qkv, new.proj = old.qkv, old.proj
        block.attn = new
    return model


# ---------------------------------------------------------------------------
# Export, reference outputs, manifest
# ---------------------------------------------------------------------------


def matmul_conv_flops(model, inputs):
    from torch.profiler import profile
    with torch.no_grad(), profile(with_flops=True) as prof:
        model(*inputs)
    counted = ("aten::conv2d", "aten::addmm", "aten::mm", "aten::bmm")
    return int(sum(ev.flops for ev in prof.events() if ev.name in counted and ev.flops))


def framework_count(model):
    n = sum(p.numel() for p in model.parameters())
    for name, buf in model.named_buffers():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in ("running_mean", "running_var") or leaf in ("feature_mean", "feature_std"):
            n += buf.numel()
    return n


def initializer_count(proto):
    return int(sum(int(np.prod(i.dims)) for i in proto.graph.initializer))


def run_ort(model_path, inputs, names, out_dir):
    if not os.path.isdir(os.path.join(ROOT, "bench", ".ort", "node_modules", "onnxruntime-node")):
        sys.exit("make_models: ONNX Runtime missing; run\n"
                 "  npm install --ignore-scripts --prefix bench/.ort onnxruntime-node")
    cmd = ["node", ORT_RUN, model_path, "--threads", "1", "--opt-level", "basic", "--output-dir",
           out_dir]
    for name, path in zip(names, inputs):
        cmd += ["--input", f"{name}={path}"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"make_models: ort_run failed for {model_path}:\n{res.stderr}")
    return json.loads(res.stdout)


def errors(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    abs_err = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return {"max_abs_err": abs_err, "max_rel_err": abs_err / scale if scale > 0 else abs_err}


def export_fixture(name, family, model, inputs, input_names, output_names, dynamic_axes, opset,
                   note=None, preserve_bn=False):
    model.eval()
    path = os.path.join(HERE, f"{name}.onnx")
    kwargs = {}
    if preserve_bn:
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
    torch.onnx.export(model, tuple(inputs), path, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes, opset_version=opset,
                      do_constant_folding=True, **kwargs)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    fw = framework_count(model)
    init = initializer_count(proto)
    if fw != init:
        sys.exit(f"make_models: {name}: framework count {fw} != initializer count {init}")
    with torch.no_grad():
        outs = model(*inputs)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    entry = {"name": name, "file": f"{name}.onnx", "family": family, "opset": opset,
             "param_count": fw, "batch": BATCH, "node_count": len(proto.graph.node),
             "matmul_conv_flops": matmul_conv_flops(model, inputs), "inputs": [], "outputs": []}
    if note:
        entry["note"] = note
    in_paths = []
    for k, (iname, t) in enumerate(zip(input_names, inputs)):
        f = f"{name}.in{k}.npy"
        arr = t.numpy()
        np.save(os.path.join(HERE, f), arr)
        in_paths.append(os.path.join(HERE, f))
        entry["inputs"].append({"name": iname, "file": f, "dtype": str(arr.dtype),
                                "shape": list(arr.shape)})
    with tempfile.TemporaryDirectory() as tmp:
        run_ort(path, in_paths, input_names, tmp)
        for k, (oname, t) in enumerate(zip(output_names, outs)):
            torch_arr = t.numpy()
            ort_arr = np.load(os.path.join(tmp, f"{oname}.npy"))
            assert ort_arr.shape == torch_arr.shape, (name, oname, ort_arr.shape, torch_arr.shape)
            tf, of = f"{name}.torch_out{k}.npy", f"{name}.ort_out{k}.npy"
            np.save(os.path.join(HERE, tf), torch_arr)
            shutil.copyfile(os.path.join(tmp, f"{oname}.npy"), os.path.join(HERE, of))
            entry["outputs"].append({"name": oname, "dtype": str(ort_arr.dtype),
                                     "shape": list(ort_arr.shape), "torch_file": tf,
                                     "ort_file": of, "torch_vs_ort": errors(torch_arr, ort_arr)})
    return entry


def demo_entry(name, family, rel_path, model, inputs, input_names, output_names, opset):
    """Manifest entry for a model committed under resources/demo."""
    path = os.path.join(ROOT, rel_path)
    proto = onnx.load(path)
    fw = framework_count(model)
    init = initializer_count(proto)
    if fw != init:
        sys.exit(f"make_models: {name}: framework count {fw} != initializer count {init}")
    entry = {"name": name, "file": os.path.relpath(path, HERE), "family": family, "opset": opset,
             "param_count": fw, "batch": int(inputs[0].shape[0]),
             "node_count": len(proto.graph.node),
             "matmul_conv_flops": matmul_conv_flops(model, [torch.from_numpy(a) for a in inputs]),
             "inputs": [], "outputs": []}
    in_paths = []
    for k, (iname, arr) in enumerate(zip(input_names, inputs)):
        f = f"{name}.in{k}.npy"
        np.save(os.path.join(HERE, f), arr)
        in_paths.append(os.path.join(HERE, f))
        entry["inputs"].append({"name": iname, "file": f, "dtype": str(arr.dtype),
                                "shape": list(arr.shape)})
    with torch.no_grad():
        outs = model(*[torch.from_numpy(a) for a in inputs])
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    with tempfile.TemporaryDirectory() as tmp:
        run_ort(path, in_paths, input_names, tmp)
        for k, (oname, t) in enumerate(zip(output_names, outs)):
            torch_arr = t.numpy()
            ort_arr = np.load(os.path.join(tmp, f"{oname}.npy"))
            tf, of = f"{name}.torch_out{k}.npy", f"{name}.ort_out{k}.npy"
            np.save(os.path.join(HERE, tf), torch_arr)
            shutil.copyfile(os.path.join(tmp, f"{oname}.npy"), os.path.join(HERE, of))
            entry["outputs"].append({"name": oname, "dtype": str(ort_arr.dtype),
                                     "shape": list(ort_arr.shape), "torch_file": tf,
                                     "ort_file": of, "torch_vs_ort": errors(torch_arr, ort_arr)})
    return entry


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    demo = load_make_demo()
    g = torch.Generator().manual_seed(7)
    models = []

    def seeded(cls_or_fn, seed, *args):
        torch.manual_seed(seed)
        m = cls_or_fn(*args)
        # Non-trivial BatchNorm statistics so a wrong BN kernel shows.
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                with torch.no_grad():
                    mod.running_mean.normal_(0.0, 0.1)
                    mod.running_var.uniform_(0.5, 1.5)
                    mod.weight.normal_(1.0, 0.1)
                    mod.bias.normal_(0.0, 0.1)
            # Distinct LayerNorm affine values, as in a trained model (the
            # exporter deduplicates initializers with equal values, which
            # would merge fresh all-ones/all-zeros LayerNorm parameters).
            if isinstance(mod, nn.LayerNorm):
                with torch.no_grad():
                    mod.weight.normal_(1.0, 0.05)
                    mod.bias.normal_(0.0, 0.02)
        return m.eval()

    img = torch.randn(BATCH, 3, 32, 32, generator=g)
    models.append(export_fixture(
        "resnet_tiny", "resnet", seeded(ResNetTiny, 1), [img], ["input"], ["logits"],
        {"input": {0: "batch"}, "logits": {0: "batch"}}, 13, preserve_bn=True))

    img = torch.randn(BATCH, 3, 32, 32, generator=g)
    models.append(export_fixture(
        "mobilenet_tiny", "mobilenet", seeded(MobileNetTiny, 2), [img], ["input"], ["logits"],
        {"input": {0: "batch"}, "logits": {0: "batch"}}, 14, preserve_bn=True))

    ids = torch.randint(0, 1000, (BATCH, 16), generator=g, dtype=torch.int64)
    mask = torch.ones(BATCH, 16, dtype=torch.int64)
    mask[1, 11:] = 0  # second sequence padded after 11 tokens
    models.append(export_fixture(
        "bert_tiny", "bert", seeded(BertEncoderModel, 3), [ids, mask],
        ["input_ids", "attention_mask"], ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
         "last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}}, 17))

    ids = torch.randint(0, 512, (BATCH, 16), generator=g, dtype=torch.int64)
    torch.manual_seed(4)
    gpt = make_gpt_tiny(demo).eval()
    models.append(export_fixture(
        "gpt_tiny", "gpt", gpt, [ids], ["input_ids"], ["logits"],
        {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}, 15,
        note="opset 15: LayerNorm is decomposed (ReduceMean/Sub/Pow/Sqrt/Div); causal mask "
             "built at run time with Trilu"))

    x = torch.randn(BATCH, 64, generator=g)
    models.append(export_fixture(
        "mlp", "mlp", seeded(Mlp, 5), [x], ["input"], ["probabilities"],
        {"input": {0: "batch"}, "probabilities": {0: "batch"}}, 16))

    x = torch.randn(BATCH, 4, 8, generator=g)
    models.append(export_fixture(
        "baked_batch", "mlp", seeded(BakedBatch, 6), [x], ["input"], ["logits"],
        {"input": {0: "batch"}}, 13,
        note="graph input declares a symbolic batch but a Reshape holds the constant shape "
             "[2, 64]: runs only at batch 2 (a common export mistake)"))
    models[-1]["batch_baked"] = True

    # Demo models (files live in resources/demo; rebuilt by make_demo.py).
    torch.manual_seed(0)
    clf = demo.BreastCancerClassifier(np.zeros(30), np.ones(30))
    clf_proto = onnx.load(os.path.join(ROOT, "resources", "demo", "classifier.onnx"))
    state = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
             for i in clf_proto.graph.initializer}
    clf.load_state_dict(state)
    clf.eval()
    clf_in = np.load(os.path.join(ROOT, "resources", "demo", "classifier_input.npy"))
    models.append(demo_entry("demo_classifier", "classifier", "resources/demo/classifier.onnx",
                             clf, [clf_in], ["features"], ["probabilities"], 17))
    expected = np.load(os.path.join(ROOT, "resources", "demo", "classifier_expected.npy"))
    assert np.array_equal(expected, np.load(os.path.join(HERE, "demo_classifier.torch_out0.npy")))

    dec_model = demo.Decoder(**demo.DECODER_CONFIG)
    torch.manual_seed(demo.SEED)
    dec_model = demo.Decoder(**demo.DECODER_CONFIG).eval()  # same seed as make_demo: same weights
    dec_in = np.load(os.path.join(ROOT, "resources", "demo", "decoder_input.npy"))[:2, :8].copy()
    models.append(demo_entry("demo_decoder", "gpt", "resources/demo/decoder.onnx", dec_model,
                             [dec_in], ["input_ids"], ["logits"], 17))

    manifest = {"param_count_rule": PARAM_COUNT_RULE, "flops_rule": FLOPS_RULE,
                "error_rule": ERROR_RULE,
                "generator": "tests/data/models/make_models.py",
                "ort": run_ort_version(), "models": models}
    with open(os.path.join(HERE, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")
    for m in models:
        errs = ", ".join(f"{o['name']} rel {o['torch_vs_ort']['max_rel_err']:.2e} "
                         f"abs {o['torch_vs_ort']['max_abs_err']:.2e}" for o in m["outputs"])
        print(f"{m['name']:16s} opset {m['opset']} params {m['param_count']:>9d} "
              f"nodes {m['node_count']:4d} mm/conv flops {m['matmul_conv_flops']:>10d}  {errs}")
    return 0


def run_ort_version():
    pkg = os.path.join(ROOT, "bench", ".ort", "node_modules", "onnxruntime-node", "package.json")
    with open(pkg) as fh:
        version = json.load(fh)["version"]
    return {"package": "onnxruntime-node", "version": version,
            "options": "intraOpNumThreads 1, graphOptimizationLevel basic"}


if __name__ == "__main__":
    sys.exit(main())
