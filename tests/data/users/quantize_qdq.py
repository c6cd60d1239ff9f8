#!/usr/bin/python3
"""Static int8 quantization of a float32 CNN into the QDQ layout (the layout
ONNX Runtime's quantizer emits with QuantFormat.QDQ):

  * BatchNormalization following a Conv is folded into the Conv first, and
    Identity nodes over initializers are resolved (ORT's pre-processing).
  * Weights of Conv and Gemm: int8, symmetric, per output channel (axis 0;
    scale = max|w| / 127, zero point 0), stored as int8 initializers behind a
    DequantizeLinear with `axis`.
  * Biases: int32 with scale x_scale * w_scale[c] and zero point 0 behind a
    DequantizeLinear (what QLinearConv takes as its bias).
  * Activations: uint8, asymmetric, per tensor, calibrated with min/max over
    the float model run (PyTorch functional ops, see `Calibrator`) on a few
    seeded random inputs; the range always includes 0. Every float input of
    Conv, Gemm, Add and MaxPool and the output of Conv, Gemm and Add (after
    their Relu when a Relu is the only consumer) gets a QuantizeLinear ->
    DequantizeLinear pair. MaxPool's output reuses its input's scale and
    zero point (as ORT's quantizer does). GlobalAveragePool and Flatten stay
    float.

Usage (also imported by make_user_models.py and bench/make_bench_models.py):
  /usr/bin/python3 quantize_qdq.py FLOAT.onnx OUT.onnx [--samples 8] [--seed 7]
      [--input-shape 2,3,32,32]
Deterministic. Needs Debian's python3-onnx, python3-numpy and python3-torch.
"""
import argparse
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def fold_batchnorm(model):
    """Folds Conv -> BatchNormalization (the Conv output used only there) into
    the Conv's weight and bias; resolves Identity nodes over initializers."""
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    alias = {}
    kept = []
    for node in g.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            alias[node.output[0]] = node.input[0]
            continue
        kept.append(node)
    for node in kept:
        for k, name in enumerate(node.input):
            if name in alias:
                node.input[k] = alias[name]
    consumers = {}
    for node in kept:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    out = []
    removed = set()
    producer = {o: n for n in kept for o in n.output}
    for node in kept:
        if id(node) in removed:
            continue
        if node.op_type == "BatchNormalization":
            conv = producer.get(node.input[0])
            if conv is not None and conv.op_type == "Conv" and \
                    len(consumers.get(conv.output[0], [])) == 1:
                gamma, beta, mean, var = (inits[n] for n in node.input[1:5])
                eps = _attrs(node).get("epsilon", 1e-5)
                w = inits[conv.input[1]]
                b = inits[conv.input[2]] if len(conv.input) > 2 else np.zeros(w.shape[0], np.float32)
                factor = gamma / np.sqrt(var + eps)
                wname, bname = conv.input[1] + "_bnfold", conv.output[0] + "_bias_bnfold"
                inits[wname] = (w * factor.reshape(-1, 1, 1, 1)).astype(np.float32)
                inits[bname] = ((b - mean) * factor + beta).astype(np.float32)
                del conv.input[1:]
                conv.input.extend([wname, bname])
                conv.output[0] = node.output[0]
                continue
        out.append(node)
    used = {n for node in out for n in node.input}
    del g.node[:]
    g.node.extend(out)
    del g.initializer[:]
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in inits.items() if k in used)
    return model


class Calibrator:
    """Runs the float graph with PyTorch functional ops, recording every
    tensor's min and max (the ops of the CNNs this script quantizes)."""

    def __init__(self, model):
        self.g = model.graph
        self.inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
                      for i in self.g.initializer}
        self.lo, self.hi = {}, {}

    def run(self, feeds):
        env = dict(self.inits)
        env.update({k: torch.from_numpy(v) for k, v in feeds.items()})
        for node in self.g.node:
            a = _attrs(node)
            x = [env[n] if n else None for n in node.input]
            op = node.op_type
            if op == "Conv":
                pads = a.get("pads", [0, 0, 0, 0])
                assert pads[0] == pads[2] and pads[1] == pads[3], "asymmetric pads"
                y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a.get("strides", [1, 1]),
                             pads[:2], a.get("dilations", [1, 1]), a.get("group", 1))
            elif op == "Relu":
                y = torch.relu(x[0])
            elif op == "Add":
                y = x[0] + x[1]
            elif op == "MaxPool":
                pads = a.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(x[0], a["kernel_shape"], a.get("strides", [1, 1]), pads[:2])
            elif op == "GlobalAveragePool":
                y = x[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Flatten":
                y = torch.flatten(x[0], a.get("axis", 1))
            elif op == "Gemm":
                w = x[1].t() if a.get("transB", 0) else x[1]
                y = x[0] @ w + (x[2] if len(x) > 2 else 0)
            else:
                raise SystemExit(f"quantize_qdq: op {op} not handled by the calibrator")
            env[node.output[0]] = y
            lo, hi = float(y.min()), float(y.max())
            name = node.output[0]
            self.lo[name] = min(self.lo.get(name, lo), lo)
            self.hi[name] = max(self.hi.get(name, hi), hi)
        for k, v in feeds.items():
            self.lo[k] = min(self.lo.get(k, float(v.min())), float(v.min()))
            self.hi[k] = max(self.hi.get(k, float(v.max())), float(v.max()))
        return {o.name: env[o.name].numpy() for o in self.g.output}


def uint8_params(lo, hi):
    """ORT's MinMax rule for uint8: the range includes 0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = np.float32((hi - lo) / 255.0 if hi > lo else 1.0)
    zp = int(np.clip(np.round(0 - lo / scale), 0, 255))
    return scale, np.uint8(zp)


def quantize(model, calibration_inputs):
    model = fold_batchnorm(model)
    calib = Calibrator(model)
    for feeds in calibration_inputs:
        calib.run(feeds)
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consumers = {}
    for node in g.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    producer = {o: n for n in g.node for o in n.output}
    graph_outputs = {o.name for o in g.output}

    # Which activations get a Q/DQ pair, and with which parameters.
    params = {}
    order = []

    def want(name):
        if name not in params and name not in inits:
            params[name] = uint8_params(calib.lo[name], calib.hi[name])
            order.append(name)

    for node in g.node:
        if node.op_type in ("Conv", "Gemm", "Add", "MaxPool"):
            for name in (node.input[:1] if node.op_type != "Add" else node.input):
                want(name)
        if node.op_type in ("Conv", "Gemm", "Add"):
            out = node.output[0]
            users = consumers.get(out, [])
            if len(users) == 1 and users[0].op_type == "Relu" and out not in graph_outputs:
                out = users[0].output[0]
            want(out)
    for node in g.node:  # MaxPool's output takes its input's parameters
        if node.op_type == "MaxPool":
            params[node.output[0]] = params[node.input[0]]
            if node.output[0] not in order:
                order.append(node.output[0])

    new_nodes = []
    new_inits = []
    renamed = {}

    def const(name, arr):
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    for name in order:
        scale, zp = params[name]
        src = name
        if name in graph_outputs:  # the producer writes a float twin, DQ writes the output
            src = name + "_float"
            renamed[name] = src
        const(name + "_scale", np.array(scale, np.float32))
        const(name + "_zero_point", np.array(zp, np.uint8))
    q_of = {}
    for node in g.node:
        for k, o in enumerate(node.output):
            if o in renamed:
                node.output[k] = renamed[o]
    # Inputs first: graph inputs that are quantized get their pair up front.
    def qdq(name):
        src = renamed.get(name, name)
        q = helper.make_node("QuantizeLinear", [src, name + "_scale", name + "_zero_point"],
                             [name + "_quantized"], name=name + "_QuantizeLinear")
        dq_out = name if name in renamed else name + "_dequantized"
        dq = helper.make_node("DequantizeLinear",
                              [name + "_quantized", name + "_scale", name + "_zero_point"],
                              [dq_out], name=name + "_DequantizeLinear")
        q_of[name] = dq_out
        return [q, dq]

    for inp in g.input:
        if inp.name in params:
            new_nodes += qdq(inp.name)
    for node in g.node:
        # Rewire quantized activations to their dequantized twins.
        for k, name in enumerate(node.input):
            if name in q_of and name not in renamed:
                node.input[k] = q_of[name]
        if node.op_type in ("Conv", "Gemm"):
            w = inits[node.input[1]]
            transposed = node.op_type == "Gemm" and not _attrs(node).get("transB", 0)
            wc = w.T if transposed else w  # output channels first
            absmax = np.abs(wc.reshape(wc.shape[0], -1)).max(axis=1)
            ws = np.where(absmax > 0, absmax / 127.0, 1.0).astype(np.float32)
            shape = (-1,) + (1,) * (wc.ndim - 1)
            wq = np.clip(np.round(wc / ws.reshape(shape)), -127, 127).astype(np.int8)
            if transposed:
                wq = wq.T
            # Names per node: exporters share identical initializers between nodes.
            base = (node.name or node.output[0]) + ".weight"
            const(base + "_quantized", wq)
            const(base + "_scale", ws)
            const(base + "_zero_point", np.zeros(ws.shape, np.int8))
            new_nodes.append(helper.make_node(
                "DequantizeLinear", [base + "_quantized", base + "_scale", base + "_zero_point"],
                [base + "_dequantized"], name=base + "_DequantizeLinear",
                axis=1 if transposed else 0))
            node.input[1] = base + "_dequantized"
            if len(node.input) > 2 and node.input[2]:
                xname = [n for n in params if q_of.get(n) == node.input[0]][0]
                bs = (params[xname][0] * ws).astype(np.float32)
                b = inits[node.input[2]].reshape(-1)
                bq = np.round(b / bs).astype(np.int32)
                bname = (node.name or node.output[0]) + ".bias"
                const(bname + "_quantized", bq)
                const(bname + "_scale", bs)
                const(bname + "_zero_point", np.zeros(bs.shape, np.int32))
                new_nodes.append(helper.make_node(
                    "DequantizeLinear",
                    [bname + "_quantized", bname + "_scale", bname + "_zero_point"],
                    [bname + "_dequantized"], name=bname + "_DequantizeLinear", axis=0))
                node.input[2] = bname + "_dequantized"
        new_nodes.append(node)
        for o in node.output:
            name = next((n for n, r in renamed.items() if r == o), o)
            if name in params and name not in q_of:
                new_nodes += qdq(name)
    used = {n for node in new_nodes for n in node.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(keep + [i for i in new_inits if i.name in used])
    del g.value_info[:]
    if model.opset_import[0].version < 13:  # per-axis DequantizeLinear
        model.opset_import[0].version = 13
    model.producer_name = "shardbench quantize_qdq.py"
    onnx.checker.check_model(model)
    return model, params


def calibration_set(shape, samples, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(samples)]


def quantize_file(src, dst, input_shape, samples=8, seed=7):
    model = onnx.load(src)
    name = model.graph.input[0].name
    feeds = [{name: x} for x in calibration_set(input_shape, samples, seed)]
    qmodel, params = quantize(model, feeds)
    onnx.save(qmodel, dst)
    out = qmodel.graph.output[0].name
    return {"output_scale": float(params[out][0]), "output_zero_point": int(params[out][1]),
            "calibration": f"{samples} standard-normal inputs of shape {list(input_shape)}, "
                           f"numpy seed {seed}"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--input-shape", required=True, help="e.g. 2,3,32,32")
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    shape = tuple(int(v) for v in a.input_shape.split(","))
    print(quantize_file(a.src, a.dst, shape, a.samples, a.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
