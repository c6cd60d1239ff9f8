// Robustness of a classifier to perturbed inputs, measured by running the
// model through the engine (the ModelRunner `eval --model` and `predict` use)
// on perturbed copies of the data and evaluating each copy exactly as `eval`
// does (evaluate(), bootstrap off). The result is the JSON object
// `shardbench-cli robustness --json` prints.
//
// Perturbation specs: "NAME[:S1,S2,...]" (strengths >= 0; strength 0 is
// always added and is the unperturbed data, so it equals the plain
// evaluation exactly). Tabular NAMEs (statistics from the evaluated data,
// missing values ignored):
//   noise    x + N(0, (S * std_j)^2) per cell (std_j: population std of feature j)
//   dropout  each cell with probability S replaced by the feature's mean, or
//            its mode when the feature holds <= 20 distinct integers
//   missing  each cell with probability S set missing (NaN); only run when the
//            model's graph handles missing values (has an IsNaN or ai.onnx.ml
//            Imputer node), otherwise reported unsupported with the reason
//   shift    one feature at a time: x_j +- S * std_j for every row, the rest
//            unchanged; gives the sensitivity ranking
// Image NAMEs (input float32 [N, ...] from .npy; statistics over all pixels):
//   image_noise  x + N(0, (S * std)^2) per pixel
//   brightness   x + S * (max - min)
//   contrast     per image: mean + (x - mean) * (1 - S)
//   translate    shift by round(S) pixels right and down along the last two
//                axes, edge pixels repeated
// Randomness: one std::mt19937_64 per (perturbation, strength), seeded from
// (seed, name, strength index): the same seed gives the same report.
//
// Gates: "METRIC[_drop]@NAME STRENGTH OP VALUE", e.g.
// "accuracy_drop@noise0.1 <= 0.02" (drop = metric at strength 0 minus metric
// at the strength) or "roc_auc@dropout0.25 >= 0.9"; for shift the worst value
// over features and both directions counts.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/eval/evaluation.h"
#include "core/eval/predict.h"
#include "core/graph/graph.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sb::eval {

struct Perturbation
{
    std::string name;
    std::vector<double> strengths; // ascending, starts with 0
};

// Parses SPECs; empty = the defaults (tabular: noise:0.05,0.1,0.2,0.5
// dropout:0.1,0.25,0.5 missing:0.1,0.25 shift:0.5,1; images: image_noise:
// 0.05,0.1,0.2 brightness:0.1,0.2 contrast:0.25,0.5 translate:1,2).
Result<std::vector<Perturbation>> parsePerturbations(const std::vector<std::string> &specs,
                                                     bool images);

// Whether the graph handles missing (NaN) inputs; `why` says how or why not.
bool graphHandlesMissing(const graph::Graph &graph, std::string *why);

struct RobustnessOptions
{
    std::vector<std::string> perturbations; // SPECs, empty = defaults
    std::uint64_t seed = 20240611;
    // label, positive, slices, threads; predictions, bootstrap and gates are
    // set by the run.
    EvalSpec eval;
    PredictOptions predict;
    bool modelHandlesMissing = false;
    std::string missingReason; // why (not), shown in the report
    std::vector<std::string> gates;
};

struct RobustnessReport
{
    nlohmann::json json;
    std::vector<GateResult> gates;
    bool gatesPassed = true;
};

// Tabular data: features per options.predict, label per options.eval.
Result<RobustnessReport> runRobustness(const Table &table, const ModelRunner &model,
                                       const RobustnessOptions &options,
                                       const CancelToken *cancel = nullptr,
                                       const ProgressFn &progress = {});

// Images: `images` [N, ...] (the model's input layout; taken over as the
// unperturbed copy), labels per image (class indices). Slices do not apply.
Result<RobustnessReport> runImageRobustness(FloatArray images, const std::vector<double> &labels,
                                            const std::string &source, const ModelRunner &model,
                                            const RobustnessOptions &options,
                                            const CancelToken *cancel = nullptr,
                                            const ProgressFn &progress = {});

// "0.1" -> "0_1": the strength as it appears in summary keys such as
// accuracy_drop_noise_0_1.
std::string strengthKey(double strength);

} // namespace sb::eval
