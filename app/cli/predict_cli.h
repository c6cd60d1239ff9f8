// Shared by `predict` and `eval --model`: open a model on the CPU engine
// (whole graph, or pipelined across local devices per --plan) and run it over
// a table's feature columns (core/eval/predict.h).
#pragma once

#include "app/cli/args.h"

#include "core/eval/predict.h"
#include "core/plan/local_run.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/session.h"

#include <memory>
#include <string>

namespace sb::cli {

// Owns whatever runs the model; `runner` borrows from it.
struct PredictionModel
{
    runtime::Session session;                          // whole-graph path
    std::shared_ptr<graph::Graph> graph;               // plan path
    plan::LocalDevices devices;                        // plan path
    std::unique_ptr<runtime::PipelineRunner> pipeline; // plan path
    eval::ModelRunner runner;
};

// --features COLS, --feature-prefix P, --plan PLAN.json, --microbatches M,
// --batch-rows N, --threads N.
void addPredictOptions(ArgSpec &spec);
Result<eval::PredictOptions> predictOptionsFromArgs(const ParsedArgs &parsed);
Result<std::unique_ptr<PredictionModel>> openPredictionModel(const std::string &modelPath,
                                                             const ParsedArgs &parsed);

} // namespace sb::cli
