#!/usr/bin/python3
"""Writes control_flow.onnx: a small graph whose nodes carry subgraphs that
read outer-scope values, and the sequence values they pass around:

  If (twice, so both branches run: cond from ReduceSum(h) > 0 and < 0),
  Loop (3 trips; a loop-carried tensor, a loop-carried sequence built with
        SequenceInsert, a scan output; the body reads `h` and `half` from
        the outer graph and holds an If of its own),
  Scan (running sum over the rows of the Loop's result, scan output),
  ConcatFromSequence / SplitToSequence / SequenceAt / SequenceLength.

Writes control_flow.in0.npy (input `x`) and, when ONNX Runtime is installed in
bench/.ort (npm install --ignore-scripts --prefix bench/.ort
onnxruntime-node), ONNX Runtime's outputs control_flow.ort_out<K>.npy in
graph-output order; tests/runtime checks ours against them and
tests/pipeline splits the graph across stages.

Run with Debian's /usr/bin/python3 (python3-onnx). Deterministic (seeded).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", "..", ".."))

F = TensorProto.FLOAT


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def vi(name, elem=F, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


# ---- If branches (read `h` and `w2` from the outer graph)
then_branch = helper.make_graph(
    [helper.make_node("Relu", ["h"], ["t0"]),
     helper.make_node("MatMul", ["t0", "w2"], ["t_out"])],
    "then_branch", [], [vi("t_out", F, [3, 4])])
else_branch = helper.make_graph(
    [helper.make_node("Neg", ["h"], ["e0"]),
     helper.make_node("Sigmoid", ["e0"], ["e_out"])],
    "else_branch", [], [vi("e_out", F, [3, 4])])
then_branch2 = helper.make_graph(
    [helper.make_node("Tanh", ["h"], ["t2_out"])], "then_branch2", [], [vi("t2_out", F, [3, 4])])
else_branch2 = helper.make_graph(
    [helper.make_node("Mul", ["h", "half"], ["e2_out"])], "else_branch2", [],
    [vi("e2_out", F, [3, 4])])

# ---- Loop body: (iter, cond, acc, seq) -> (cond, acc', seq', rowsum)
inner_then = helper.make_graph(
    [helper.make_node("Add", ["acc_in", "half"], ["inner_t"])], "inner_then", [],
    [vi("inner_t", F, [3, 4])])
inner_else = helper.make_graph(
    [helper.make_node("Sub", ["acc_in", "half"], ["inner_e"])], "inner_else", [],
    [vi("inner_e", F, [3, 4])])
body = helper.make_graph(
    [
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        helper.make_node("Tanh", ["h"], ["th"]),
        helper.make_node("Mul", ["acc_in", "half"], ["scaled"]),
        helper.make_node("Add", ["scaled", "th"], ["acc_mid"]),
        # iteration parity decides an inner If (reads acc_in from the body's scope)
        helper.make_node("Mod", ["iter", "two"], ["parity"]),
        helper.make_node("Equal", ["parity", "zero_i"], ["even"]),
        helper.make_node("If", ["even"], ["shifted"], then_branch=inner_then,
                         else_branch=inner_else),
        helper.make_node("Add", ["acc_mid", "shifted"], ["acc_out"]),
        helper.make_node("SequenceInsert", ["seq_in", "acc_out"], ["seq_out"]),
        helper.make_node("ReduceSum", ["acc_out", "axis1"], ["rowsum"], keepdims=0),
    ],
    "loop_body",
    [vi("iter", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []),
     vi("acc_in", F, [3, 4]),
     helper.make_tensor_sequence_value_info("seq_in", F, None)],
    [vi("cond_out", TensorProto.BOOL, []), vi("acc_out", F, [3, 4]),
     helper.make_tensor_sequence_value_info("seq_out", F, None), vi("rowsum", F, [3])],
    [const("two", np.array(2, np.int64)), const("zero_i", np.array(0, np.int64)),
     const("axis1", np.array([1], np.int64))])

# ---- Scan body: (sum, row) -> (sum', sum' * row)
scan_body = helper.make_graph(
    [helper.make_node("Add", ["sum_in", "row"], ["sum_out"]),
     helper.make_node("Mul", ["sum_out", "row"], ["prod"])],
    "scan_body", [vi("sum_in", F, [4]), vi("row", F, [4])],
    [vi("sum_out", F, [4]), vi("prod", F, [4])])

nodes = [
    helper.make_node("MatMul", ["x", "w1"], ["h"]),
    helper.make_node("ReduceSum", ["h"], ["total"], keepdims=0),
    helper.make_node("Greater", ["total", "zero_f"], ["positive"]),
    helper.make_node("Less", ["total", "zero_f"], ["negative"]),
    helper.make_node("If", ["positive"], ["y_if"], then_branch=then_branch,
                     else_branch=else_branch),
    helper.make_node("If", ["negative"], ["y_if2"], then_branch=then_branch2,
                     else_branch=else_branch2),
    helper.make_node("Add", ["y_if", "y_if2"], ["start"]),
    helper.make_node("SequenceEmpty", [], ["seq0"], dtype=F),
    helper.make_node("Loop", ["trips", "", "start", "seq0"], ["acc", "seq", "rowsums"],
                     body=body),
    helper.make_node("ConcatFromSequence", ["seq"], ["stacked"], axis=0),
    helper.make_node("SequenceLength", ["seq"], ["seq_len"]),
    helper.make_node("Scan", ["zeros4", "acc"], ["scan_sum", "scan_prod"], body=scan_body,
                     num_scan_inputs=1),
    helper.make_node("SplitToSequence", ["scan_prod"], ["rows"], axis=0, keepdims=0),
    helper.make_node("SequenceAt", ["rows", "minus_one"], ["last_row"]),
]
inits = [
    const("w1", rng.standard_normal((4, 4)).astype(np.float32)),
    const("w2", rng.standard_normal((4, 4)).astype(np.float32)),
    const("half", np.array(0.5, np.float32)),
    const("zero_f", np.array(0.0, np.float32)),
    const("trips", np.array(3, np.int64)),
    const("zeros4", np.zeros(4, np.float32)),
    const("minus_one", np.array(-1, np.int64)),
]
outputs = [vi("y_if", F, [3, 4]), vi("acc", F, [3, 4]), vi("rowsums", F, [3, 3]),
           vi("stacked", F, [9, 4]), vi("seq_len", TensorProto.INT64, []),
           vi("scan_sum", F, [4]), vi("scan_prod", F, [3, 4]), vi("last_row", F, [4])]
graph = helper.make_graph(nodes, "control_flow", [vi("x", F, [3, 4])], outputs, inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="make_control_flow.py")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
model_path = os.path.join(here, "control_flow.onnx")
onnx.save(model, model_path)
in_path = os.path.join(here, "control_flow.in0.npy")
np.save(in_path, rng.standard_normal((3, 4)).astype(np.float32))

# ONNX Runtime's outputs, the reference tests compare with.
ort_dir = os.path.join(root, "bench", ".ort", "node_modules", "onnxruntime-node")
if not os.path.isdir(ort_dir):
    print("make_control_flow: bench/.ort has no onnxruntime-node; ORT outputs not written")
    sys.exit(0)
out_dir = tempfile.mkdtemp()
res = subprocess.run(["node", os.path.join(root, "bench", "ort_run.js"), model_path,
                      "--threads", "1", "--opt-level", "basic", "--output-dir", out_dir,
                      "--input", f"x={in_path}"], capture_output=True, text=True)
if res.returncode != 0:
    sys.exit(f"make_control_flow: ort_run failed:\n{res.stderr}")
info = json.loads(res.stdout)
files = {o["name"]: o["file"] for o in info["outputs"]}
for k, out in enumerate(outputs):
    np.save(os.path.join(here, f"control_flow.ort_out{k}.npy"), np.load(files[out.name]))
print("make_control_flow: wrote control_flow.onnx, its input and ORT", info["ort_version"],
      "outputs")
