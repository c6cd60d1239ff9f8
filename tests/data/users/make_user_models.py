#!/usr/bin/python3
"""Exports the "models users bring" fixtures with random (seeded) weights:

  lstm_seq.onnx     2-layer bidirectional LSTM over a [batch, seq, features]
                    sequence with a linear head (opset 14, batch_first).
  lraspp_tiny.onnx  torchvision LR-ASPP segmenter on a MobileNetV3-Large
                    backbone at width 0.25 (opset 13; bilinear Resize,
                    Hardswish, Hardsigmoid, squeeze-excitation).
  ssdlite_tiny.onnx torchvision SSDlite detector (MobileNetV3-Large width 0.25,
                    160x160, 5 classes) over one image [3, H, W], with its
                    pre- and post-processing: Resize, TopK, NonMaxSuppression,
                    NonZero, GatherND (batched_nms traced without its If).
  resnet_tiny_fp16.onnx, mlp_fp16.onnx
                    the float32 fixtures of tests/data/models stored as
                    float16 (initializers, constants, inputs, outputs).
  resnet_tiny_int8.onnx
                    tests/data/models/resnet_tiny.onnx quantized to int8 QDQ
                    by quantize_qdq.py (per-channel symmetric int8 weights,
                    per-tensor uint8 activations calibrated on seeded random
                    inputs); ONNX Runtime's outputs with all its graph
                    optimizations (it runs QLinearConv etc.). The manifest
                    records the output's quantization step: outputs must
                    agree within one step.

For each model it writes <name>.in0.npy, PyTorch's outputs
(<name>.torch_out<K>.npy) and, when ONNX Runtime is installed in bench/.ort
(npm install --ignore-scripts --prefix bench/.ort onnxruntime-node), ONNX
Runtime's outputs (<name>.ort_out<K>.npy) and manifest.json listing inputs,
outputs and the torch-vs-ORT error. `--only-int8 resnet_tiny` regenerates
just the int8 fixture and its manifest entry. Run with Debian's /usr/bin/python3
(python3-torch, python3-torchvision, python3-onnx). Deterministic.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
ORT_RUN = os.path.join(ROOT, "bench", "ort_run.js")


class LstmSeq(nn.Module):
    def __init__(self, features=16, hidden=24, classes=5):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y)


def lraspp_tiny():
    from torchvision.models import mobilenet_v3_large
    from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3
    backbone = mobilenet_v3_large(width_mult=0.25, dilated=True)
    return _lraspp_mobilenetv3(backbone, num_classes=4)


def to_half(name):
    """The float32 fixture tests/data/models/<name>.onnx with every float
    initializer, Constant, Cast target, graph input and output as float16 (what
    a "convert to half" export gives); its input as float16."""
    from onnx import TensorProto, numpy_helper
    models = os.path.join(HERE, "..", "models")
    model = onnx.load(os.path.join(models, f"{name}.onnx"))
    g = model.graph
    for i, init in enumerate(g.initializer):
        if init.data_type == TensorProto.FLOAT:
            arr = numpy_helper.to_array(init).astype(np.float16)
            g.initializer[i].CopyFrom(numpy_helper.from_array(arr, init.name))
    for node in g.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                arr = numpy_helper.to_array(attr.t).astype(np.float16)
                attr.t.CopyFrom(numpy_helper.from_array(arr, attr.t.name))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    del g.value_info[:]
    onnx.checker.check_model(model)
    half = f"{name}_fp16"
    path = os.path.join(HERE, f"{half}.onnx")
    onnx.save(model, path)
    in_path = os.path.join(HERE, f"{half}.in0.npy")
    x = np.load(os.path.join(models, f"{name}.in0.npy")).astype(np.float16)
    np.save(in_path, x)
    entry = {"name": half, "file": f"{half}.onnx", "opset": model.opset_import[0].version,
             "float16_of": f"tests/data/models/{name}.onnx",
             "inputs": [{"name": g.input[0].name, "file": f"{half}.in0.npy",
                         "shape": list(x.shape)}],
             "outputs": []}
    ort = run_ort(path, in_path, g.input[0].name)
    for k, out in enumerate(g.output):
        o = {"name": out.name}
        if ort:
            o["ort_file"] = f"{half}.ort_out{k}.npy"
            np.save(os.path.join(HERE, o["ort_file"]), ort[1][out.name])
            o["shape"] = list(ort[1][out.name].shape)
        entry["outputs"].append(o)
    if ort:
        entry["ort_version"] = ort[0].get("ort_version")
    return entry


def traced_batched_nms(boxes, scores, idxs, iou_threshold):
    """torchvision's batched_nms (coordinate trick) without its scripted
    empty-input branch, which would export as an If node."""
    import torchvision.ops.boxes as box_ops
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    return box_ops.nms(boxes + offsets[:, None], scores, iou_threshold)


def ssdlite_tiny():
    """torchvision SSDlite (as ssdlite320_mobilenet_v3_large builds it) on a
    MobileNetV3-Large backbone at width 0.25, 160x160 input, 5 classes."""
    from functools import partial

    import torchvision
    import torchvision.ops.boxes as box_ops
    from torchvision.models import mobilenet_v3_large
    from torchvision.models.detection import ssdlite
    from torchvision.models.detection._utils import retrieve_out_channels
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    box_ops.batched_nms = traced_batched_nms
    norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
    backbone = mobilenet_v3_large(width_mult=0.25, norm_layer=norm_layer)
    backbone = ssdlite._mobilenet_extractor(backbone, 6, norm_layer)
    size = (160, 160)
    anchors = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
    head = ssdlite.SSDLiteHead(retrieve_out_channels(backbone, size),
                               anchors.num_anchors_per_location(), 5, norm_layer)
    # Random weights give near-uniform class scores (ties everywhere); widen
    # the class logits so that scores, and hence the detections, are distinct.
    with torch.no_grad():
        for block in head.classification_head.module_list:
            nn.init.normal_(block[-1].weight, std=3.0)
            nn.init.normal_(block[-1].bias, std=1.0)
    return torchvision.models.detection.ssd.SSD(
        backbone, anchors, size, 5, head=head, score_thresh=0.001, nms_thresh=0.55,
        detections_per_img=20, topk_candidates=50, image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5])


class FirstImage(nn.Module):
    """Detector over one image tensor [3, H, W]: boxes, scores, labels."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, image):
        out = self.detector([image])[0]
        return out["boxes"], out["scores"], out["labels"]


def randomize_batchnorm(model):
    """Random BatchNorm statistics so that the normalisation is not the identity."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)


def run_ort(model_path, input_path, input_name="input", opt_level="basic"):
    if not os.path.isdir(os.path.join(ROOT, "bench", ".ort", "node_modules", "onnxruntime-node")):
        return None
    out_dir = tempfile.mkdtemp()
    cmd = ["node", ORT_RUN, model_path, "--threads", "1", "--opt-level", opt_level,
           "--output-dir", out_dir, "--input", f"{input_name}={input_path}"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"make_user_models: ort_run failed for {model_path}:\n{res.stderr}")
    info = json.loads(res.stdout)
    return info, {o["name"]: np.load(o["file"]) for o in info["outputs"]}


def export(name, model, example, opset, output_names, dynamic_axes):
    model.eval()
    path = os.path.join(HERE, f"{name}.onnx")
    torch.onnx.export(model, example, path, opset_version=opset, input_names=["input"],
                      output_names=output_names, dynamic_axes=dynamic_axes,
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    in_path = os.path.join(HERE, f"{name}.in0.npy")
    np.save(in_path, example.numpy())
    with torch.no_grad():
        outs = model(example)
    if isinstance(outs, dict):
        outs = [outs[k] for k in sorted(outs)]
    elif isinstance(outs, torch.Tensor):
        outs = [outs]
    entry = {"name": name, "file": f"{name}.onnx", "opset": opset,
             "inputs": [{"name": "input", "file": f"{name}.in0.npy",
                         "shape": list(example.shape)}],
             "outputs": []}
    ort = run_ort(path, in_path)
    for k, (oname, t) in enumerate(zip(output_names, outs)):
        torch_file = f"{name}.torch_out{k}.npy"
        np.save(os.path.join(HERE, torch_file), t.numpy())
        out = {"name": oname, "shape": list(t.shape), "torch_file": torch_file}
        if ort:
            ort_file = f"{name}.ort_out{k}.npy"
            ref = ort[1][oname]
            np.save(os.path.join(HERE, ort_file), ref)
            diff = float(np.max(np.abs(t.numpy().astype(np.float64) - ref))) if ref.size else 0.0
            out["ort_file"] = ort_file
            out["torch_vs_ort_max_rel_err"] = diff / max(float(np.max(np.abs(ref))), 1e-30) \
                if ref.size else 0.0
        entry["outputs"].append(out)
    if ort:
        entry["ort_version"] = ort[0].get("ort_version")
    return entry


def to_int8(name):
    """tests/data/models/<name>.onnx quantized to QDQ int8 (quantize_qdq.py);
    its float input; ONNX Runtime's output (all optimizations) and the
    output's quantization step."""
    sys.path.insert(0, HERE)
    import quantize_qdq
    models = os.path.join(HERE, "..", "models")
    x = np.load(os.path.join(models, f"{name}.in0.npy"))
    q = f"{name}_int8"
    path = os.path.join(HERE, f"{q}.onnx")
    info = quantize_qdq.quantize_file(os.path.join(models, f"{name}.onnx"), path, x.shape)
    in_path = os.path.join(HERE, f"{q}.in0.npy")
    np.save(in_path, x)
    model = onnx.load(path)
    g = model.graph
    entry = {"name": q, "file": f"{q}.onnx", "opset": model.opset_import[0].version,
             "int8_of": f"tests/data/models/{name}.onnx",
             "quantizer": "tests/data/users/quantize_qdq.py", "calibration": info["calibration"],
             "inputs": [{"name": g.input[0].name, "file": f"{q}.in0.npy", "shape": list(x.shape)}],
             "outputs": []}
    ort = run_ort(path, in_path, g.input[0].name, opt_level="all")
    for k, out in enumerate(g.output):
        o = {"name": out.name, "quant_step": info["output_scale"],
             "error_rule": "max|ours - ort| <= 1.001 * quant_step"}
        if ort:
            o["ort_file"] = f"{q}.ort_out{k}.npy"
            np.save(os.path.join(HERE, o["ort_file"]), ort[1][out.name])
            o["shape"] = list(ort[1][out.name].shape)
        entry["outputs"].append(o)
    if ort:
        entry["ort_version"] = ort[0].get("ort_version")
        entry["ort_opt_level"] = "all"
    return entry


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--only-int8":
        # Regenerates one int8 fixture and its manifest entry, keeping the rest.
        with open(os.path.join(HERE, "manifest.json")) as fh:
            manifest = json.load(fh)
        entry = to_int8(sys.argv[2])
        manifest["models"] = [m for m in manifest["models"] if m["name"] != entry["name"]]
        manifest["models"].append(entry)
        with open(os.path.join(HERE, "manifest.json"), "w") as fh:
            json.dump(manifest, fh, indent=1)
            fh.write("\n")
        return 0
    torch.manual_seed(20)
    models = []
    lstm = LstmSeq()
    models.append(export("lstm_seq", lstm, torch.randn(2, 12, 16), 14, ["logits"],
                         {"input": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}))
    seg = lraspp_tiny()
    randomize_batchnorm(seg)
    models.append(export("lraspp_tiny", seg, torch.randn(1, 3, 64, 64), 13, ["out"], None))
    det = FirstImage(ssdlite_tiny())
    randomize_batchnorm(det)
    entry = export("ssdlite_tiny", det, torch.rand(3, 160, 160), 13,
                   ["boxes", "scores", "labels"], None)
    # Equal scores may come in any order: compare as sets of (box, label, score).
    entry["detections"] = {"boxes": "boxes", "scores": "scores", "labels": "labels"}
    models.append(entry)
    models.append(to_half("resnet_tiny"))
    models.append(to_half("mlp"))
    models.append(to_int8("resnet_tiny"))
    manifest = {"generator": "tests/data/users/make_user_models.py",
                "error_rule": "max|torch - ort| / max|ort| per output",
                "models": models}
    with open(os.path.join(HERE, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    sys.exit(main())
