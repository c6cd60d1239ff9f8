#!/usr/bin/python3
"""Writes op_chain.onnx: a small graph chaining ops added for detection,
segmentation, quantized and recurrent models (Resize, MaxPool with Indices,
MaxUnpool, QuantizeLinear/DequantizeLinear, LSTM, GRU, Einsum, TopK,
NonMaxSuppression, RoiAlign), so that tests can plan it over several devices
and split it across stages like any other graph.

Run with Debian's /usr/bin/python3 (python3-onnx). Deterministic (seeded).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20)
here = os.path.dirname(os.path.abspath(__file__))


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


hidden = 8
inits = [
    const("scales", np.array([1, 1, 2, 2], np.float32)),
    const("q_scale", np.array(0.05, np.float32)),
    const("q_zero", np.array(128, np.uint8)),
    const("seq_shape", np.array([12, 1, 48], np.int64)),
    const("lstm_w", rng.standard_normal((2, 4 * hidden, 48)).astype(np.float32) * 0.1),
    const("lstm_r", rng.standard_normal((2, 4 * hidden, hidden)).astype(np.float32) * 0.1),
    const("lstm_b", rng.standard_normal((2, 8 * hidden)).astype(np.float32) * 0.1),
    const("gru_w", rng.standard_normal((1, 3 * hidden, 2 * hidden)).astype(np.float32) * 0.1),
    const("gru_r", rng.standard_normal((1, 3 * hidden, hidden)).astype(np.float32) * 0.1),
    const("seq_2d", np.array([12, 2 * hidden], np.int64)),
    const("proj", rng.standard_normal((hidden, 5)).astype(np.float32)),
    const("k", np.array([3], np.int64)),
    const("boxes_shape", np.array([1, 12, 4], np.int64)),
    const("scores_shape", np.array([1, 1, 12], np.int64)),
    const("max_boxes", np.array([4], np.int64)),
    const("iou", np.array([0.5], np.float32)),
    const("rois", np.array([[0, 0, 5, 5], [2, 2, 10, 11]], np.float32)),
    const("roi_batch", np.array([0, 0], np.int64)),
]
nodes = [
    helper.make_node("Resize", ["x", "", "scales"], ["up"], mode="linear"),
    helper.make_node("MaxPool", ["up"], ["pooled", "argmax"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("MaxUnpool", ["pooled", "argmax"], ["unpooled"], kernel_shape=[2, 2],
                     strides=[2, 2]),
    helper.make_node("QuantizeLinear", ["unpooled", "q_scale", "q_zero"], ["q"]),
    helper.make_node("DequantizeLinear", ["q", "q_scale", "q_zero"], ["dq"]),
    helper.make_node("Transpose", ["dq"], ["seq_major"], perm=[2, 0, 1, 3]),
    helper.make_node("Reshape", ["seq_major", "seq_shape"], ["seq"]),
    helper.make_node("LSTM", ["seq", "lstm_w", "lstm_r", "lstm_b"], ["lstm_y", "lstm_h"],
                     hidden_size=hidden, direction="bidirectional"),
    helper.make_node("Reshape", ["lstm_y", "seq_2d"], ["lstm_flat"]),
    helper.make_node("Unsqueeze", ["lstm_flat", "axes1"], ["gru_in"]),
    helper.make_node("GRU", ["gru_in", "gru_w", "gru_r"], ["gru_y"], hidden_size=hidden,
                     linear_before_reset=1),
    helper.make_node("Einsum", ["gru_y", "proj"], ["logits"], equation="tdbh,hk->tbk"),
    helper.make_node("TopK", ["logits", "k"], ["top_values", "top_indices"], axis=-1),
    helper.make_node("Slice", ["logits", "zero1", "four1", "minus1"], ["box_part"]),
    helper.make_node("Reshape", ["box_part", "boxes_shape"], ["boxes"]),
    helper.make_node("ReduceMean", ["logits"], ["score_col"], axes=[2], keepdims=0),
    helper.make_node("Reshape", ["score_col", "scores_shape"], ["scores"]),
    helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_boxes", "iou"], ["selected"]),
    helper.make_node("RoiAlign", ["up", "rois", "roi_batch"], ["roi_features"], output_height=3,
                     output_width=3, sampling_ratio=2),
]
inits += [
    const("axes1", np.array([1], np.int64)),
    const("zero1", np.array([0], np.int64)),
    const("four1", np.array([4], np.int64)),
    const("minus1", np.array([-1], np.int64)),
]
graph = helper.make_graph(
    nodes, "op_chain",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
    [helper.make_tensor_value_info("top_values", TensorProto.FLOAT, [12, 1, 3]),
     helper.make_tensor_value_info("top_indices", TensorProto.INT64, [12, 1, 3]),
     helper.make_tensor_value_info("lstm_h", TensorProto.FLOAT, [2, 1, hidden]),
     helper.make_tensor_value_info("selected", TensorProto.INT64, ["selected", 3]),
     helper.make_tensor_value_info("roi_features", TensorProto.FLOAT, [2, 4, 3, 3])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="make_op_chain.py")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "op_chain.onnx"))
np.save(os.path.join(here, "op_chain.in0.npy"),
        rng.standard_normal((1, 4, 6, 6)).astype(np.float32))
