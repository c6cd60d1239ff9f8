// Running a model for core/eval: adapters from the runtime (a whole-graph
// Executor, a pipelined plan) to eval::ModelRunner, and from runtime tensors
// to eval::FloatArray. core/eval defines the interface it needs and does not
// depend on the runtime; this file is the one place the two meet.
//
// Contract:
//  - The input batch is fed as a float32 tensor borrowing the array's values
//    (no copy); the float32 outputs come back copied into FloatArrays, the
//    others are left out (eval reads float32 probabilities only).
//  - The runner borrows what it runs (executor, pipeline): they must outlive
//    it. A fired cancel token stops a run with ErrorCode::Cancelled.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/predict.h"
#include "core/graph/graph.h"
#include "core/runtime/executor.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/tensor.h"

#include <string>

namespace sb::workflows {

// The runner for a whole-graph executor: InvalidInput unless the model has
// exactly one input.
[[nodiscard]] Result<eval::ModelRunner> executorRunner(const runtime::Executor &executor,
                                                       const CancelToken *cancel = nullptr);

// The runner for a pipelined plan of `graph` run with `microbatches`
// micro-batches per batch: InvalidInput (naming `modelName`) unless the graph
// has exactly one input.
[[nodiscard]] Result<eval::ModelRunner>
pipelineRunner(const graph::Graph &graph, const runtime::PipelineRunner &pipeline, int microbatches,
               const std::string &modelName, const CancelToken *cancel = nullptr);

// Images for eval::runImageRobustness: a float32 tensor's shape and values
// (copied); InvalidInput naming `source` for any other element type.
[[nodiscard]] Result<eval::FloatArray> floatImages(const runtime::Tensor &tensor,
                                                   const std::string &source);

} // namespace sb::workflows
