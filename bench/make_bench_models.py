#!/usr/bin/python3
"""Generates the benchmark models and inputs into bench/.models/ (git-ignored).

  resnet18     torchvision ResNet-18, random weights, batch 2, 3x224x224, opset 17
  resnet18_int8 resnet18 quantized to int8 QDQ by tests/data/users/quantize_qdq.py
               (per-channel int8 weights, uint8 activations calibrated on 4 seeded
               random batches), same input; compare_ort also times resnet18 with it
  resnet_tiny_int8 the int8 QDQ test fixture tests/data/users/resnet_tiny_int8.onnx
               (and its float32 original tests/data/models/resnet_tiny.onnx)
  mobilenet_v2 torchvision MobileNetV2, random weights, batch 2, 3x224x224, opset 17
  bert6        6-layer BERT-like encoder, d 256, 4 heads, ff 1024, batch 4, seq 64, opset 17
  gpt6         6-layer GPT-like decoder: the demo decoder (resources/demo/decoder.onnx,
               d 256, vocab 4096) on ids [4, 64]
  gui_5k       5,000-node generated graph (GUI benchmark)
  planner_10k  10,000-node generated graph (planner benchmark)

Writes bench/.models/bench_models.json describing each model and its input
files; bench/compare_ort reads it. The CNNs are exported the way most people
export them (eval mode, so BatchNorm is folded into Conv).

Usage: /usr/bin/python3 bench/make_bench_models.py [--only NAME,...]
"""

import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import onnx
import torch
import torchvision
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, ".models")


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def export(model, inputs, names, outputs, dynamic_axes, path, opset=17):
    torch.onnx.export(model.eval(), tuple(inputs), path, input_names=names, output_names=outputs,
                      dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def save_inputs(name, names, arrays):
    out = []
    for k, (n, a) in enumerate(zip(names, arrays)):
        f = f"{name}.in{k}.npy"
        np.save(os.path.join(OUT, f), a)
        out.append({"name": n, "file": f, "dtype": str(a.dtype), "shape": list(a.shape)})
    return out


def make_cnn(name, ctor, rng):
    torch.manual_seed(11)
    model = ctor()
    x = rng.standard_normal((2, 3, 224, 224)).astype(np.float32)
    path = os.path.join(OUT, f"{name}.onnx")
    export(model, [torch.from_numpy(x)], ["input"], ["logits"],
           {"input": {0: "batch"}, "logits": {0: "batch"}}, path)
    return {"name": name, "file": f"{name}.onnx", "batch": 2,
            "inputs": save_inputs(name, ["input"], [x])}


def make_int8(name, float_name, index):
    """The float model `float_name` (already in bench/.models) quantized to
    int8 QDQ with the test fixtures' quantizer, on the same input."""
    quantizer = load(os.path.join(ROOT, "tests", "data", "users", "quantize_qdq.py"),
                     "quantize_qdq")
    if float_name not in index:
        raise SystemExit(f"make_bench_models: {name} needs {float_name}; make it first")
    base = index[float_name]
    x = np.load(os.path.join(OUT, base["inputs"][0]["file"]))
    info = quantizer.quantize_file(os.path.join(OUT, base["file"]), os.path.join(OUT, f"{name}.onnx"),
                                   x.shape, samples=4, seed=7)
    return {"name": name, "file": f"{name}.onnx", "batch": base["batch"], "float_of": float_name,
            "quant_step": info["output_scale"], "inputs": base["inputs"]}


def make_tiny_int8():
    users = os.path.join(ROOT, "tests", "data", "users")
    with open(os.path.join(users, "manifest.json")) as fh:
        manifest = json.load(fh)
    entry = {m["name"]: m for m in manifest["models"]}["resnet_tiny_int8"]
    tiny = os.path.relpath(os.path.join(ROOT, "tests", "data", "models", "resnet_tiny.onnx"), OUT)
    return {"name": "resnet_tiny_int8", "file": os.path.relpath(os.path.join(users, entry["file"]), OUT),
            "batch": 2, "float_file": tiny, "quant_step": entry["outputs"][0]["quant_step"],
            "inputs": [{"name": "input", "file": os.path.relpath(
                os.path.join(users, entry["inputs"][0]["file"]), OUT),
                "shape": entry["inputs"][0]["shape"]}]}


def make_bert(rng):
    fixtures = load(os.path.join(ROOT, "tests", "data", "models", "make_models.py"), "make_models")
    torch.manual_seed(12)
    model = fixtures.BertEncoderModel(vocab=8000, d=256, layers=6, heads=4, ff=1024, max_pos=128)
    for m in model.modules():
        if isinstance(m, torch.nn.LayerNorm):  # distinct values: see make_models.py
            with torch.no_grad():
                m.weight.normal_(1.0, 0.05)
                m.bias.normal_(0.0, 0.02)
    ids = rng.integers(0, 8000, size=(4, 64), dtype=np.int64)
    mask = np.ones((4, 64), dtype=np.int64)
    mask[1, 48:] = 0
    mask[3, 20:] = 0
    path = os.path.join(OUT, "bert6.onnx")
    export(model, [torch.from_numpy(ids), torch.from_numpy(mask)], ["input_ids", "attention_mask"],
           ["last_hidden_state", "pooler_output"],
           {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
            "last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}}, path)
    return {"name": "bert6", "file": "bert6.onnx", "batch": 4,
            "inputs": save_inputs("bert6", ["input_ids", "attention_mask"], [ids, mask])}


def make_gpt(rng):
    ids = np.load(os.path.join(ROOT, "resources", "demo", "decoder_input.npy"))[:4].copy()
    return {"name": "gpt6", "file": os.path.relpath(os.path.join(ROOT, "resources", "demo",
                                                                 "decoder.onnx"), OUT),
            "batch": 4, "inputs": save_inputs("gpt6", ["input_ids"], [ids])}


def make_big_graph(name, target_nodes, rng, width=16):
    """A long chain of residual two-branch blocks, ten nodes each:
    a = Relu(x@Wa + ba); b = Relu(x@Wb + bb); y = Tanh((a + b + x) * s) (Tanh keeps
    a thousand blocks finite),
    every node named with its block scope (/blocks.N/branch_a/MatMul, ...)."""
    assert target_nodes % 10 == 0
    nodes, inits = [], []
    x = "input"

    def init(n, arr):
        inits.append(numpy_helper.from_array(arr.astype(np.float32), n))
        return n

    for i in range(target_nodes // 10):
        p = f"/blocks.{i}"
        outs = {}
        for br in ("branch_a", "branch_b"):
            w = init(f"blocks.{i}.{br}.weight", rng.normal(0, 0.25, (width, width)))
            b = init(f"blocks.{i}.{br}.bias", rng.normal(0, 0.02, (width,)))
            nodes.append(helper.make_node("MatMul", [x, w], [f"{p}/{br}/MatMul_output_0"],
                                          name=f"{p}/{br}/MatMul"))
            nodes.append(helper.make_node("Add", [f"{p}/{br}/MatMul_output_0", b],
                                          [f"{p}/{br}/Add_output_0"], name=f"{p}/{br}/Add"))
            nodes.append(helper.make_node("Relu", [f"{p}/{br}/Add_output_0"],
                                          [f"{p}/{br}/Relu_output_0"], name=f"{p}/{br}/Relu"))
            outs[br] = f"{p}/{br}/Relu_output_0"
        s = init(f"blocks.{i}.norm.scale", rng.uniform(0.5, 0.7, (width,)))
        nodes += [
            helper.make_node("Add", [outs["branch_a"], outs["branch_b"]], [f"{p}/merge/Add_output_0"],
                             name=f"{p}/merge/Add"),
            helper.make_node("Add", [f"{p}/merge/Add_output_0", x], [f"{p}/residual/Add_output_0"],
                             name=f"{p}/residual/Add"),
            helper.make_node("Mul", [f"{p}/residual/Add_output_0", s], [f"{p}/norm/Mul_output_0"],
                             name=f"{p}/norm/Mul"),
            helper.make_node("Tanh", [f"{p}/norm/Mul_output_0"], [f"{p}/norm/Tanh_output_0"],
                             name=f"{p}/norm/Tanh"),
        ]
        x = f"{p}/norm/Tanh_output_0"
    nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", width])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="shardbench make_bench_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, f"{name}.onnx"))
    x0 = rng.standard_normal((4, width)).astype(np.float32)
    return {"name": name, "file": f"{name}.onnx", "batch": 4, "node_count": len(nodes),
            "inputs": save_inputs(name, ["input"], [x0])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated model names")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    makers = {
        "resnet18": lambda: make_cnn("resnet18", lambda: torchvision.models.resnet18(weights=None),
                                     np.random.default_rng(1)),
        "resnet18_int8": lambda: make_int8("resnet18_int8", "resnet18", index),
        "resnet_tiny_int8": make_tiny_int8,
        "mobilenet_v2": lambda: make_cnn("mobilenet_v2",
                                         lambda: torchvision.models.mobilenet_v2(weights=None),
                                         np.random.default_rng(2)),
        "bert6": lambda: make_bert(np.random.default_rng(3)),
        "gpt6": lambda: make_gpt(np.random.default_rng(4)),
        "gui_5k": lambda: make_big_graph("gui_5k", 5000, np.random.default_rng(5)),
        "planner_10k": lambda: make_big_graph("planner_10k", 10000, np.random.default_rng(6)),
    }
    index_path = os.path.join(OUT, "bench_models.json")
    index = {}
    if os.path.exists(index_path):
        with open(index_path) as fh:
            index = {m["name"]: m for m in json.load(fh)["models"]}
    for name, make in makers.items():
        if only and name not in only:
            continue
        entry = make()
        entry["size_bytes"] = os.path.getsize(os.path.normpath(os.path.join(OUT, entry["file"])))
        index[name] = entry
        print(f"{name:14s} {entry['size_bytes'] / 1e6:7.1f} MB  "
              f"inputs {[tuple(i['shape']) for i in entry['inputs']]}")
    ordered = [index[n] for n in makers if n in index]
    with open(index_path, "w") as fh:
        json.dump({"default": ["resnet18", "resnet18_int8", "mobilenet_v2", "bert6", "gpt6"],
                   "models": ordered},
                  fh, indent=1)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
