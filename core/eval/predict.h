// Predictions from a model: feature columns of a Table -> float32
// [rows, n_features] batches -> a model run (through ModelRunner, eval's own
// interface: core/workflows/model_runner.h adapts a whole-graph Executor or a
// pipelined plan to it) -> class probabilities, argmax label. core/eval does
// not depend on the runtime.
//
// Contract:
//  - Features: an explicit column list (model input order) or every column
//    whose name starts with a prefix (file order). Each must exist and be
//    numerical; a missing value (empty field or NaN) is InvalidInput
//    "<file>:<line>: column '<name>': missing value (the model needs every
//    feature)". The model must have one input, float32, rank 2; a known
//    feature dim that differs from the column count is InvalidInput.
//  - Output choice: the first graph output that is float32 [N, C] (C >= 1) or
//    float32 [N]; when several are, one named like "prob" wins (so a model
//    with [N] int64 labels plus [N, C] probabilities uses the latter). C == 1
//    and [N] mean P(label 1) of a binary model: proba_0 = 1 - p.
//  - Labels are "0".."C-1" (ONNX models carry no class names here).
//  - prediction = argmax over classes (the first on ties).
//  - Runs in batches of `batchRows` rows; cancel between batches.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/graph/graph.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sb::eval {

// Row-major float32 values and their shape: what eval feeds a model and
// reads back from it.
struct FloatArray
{
    std::vector<std::int64_t> shape;
    std::vector<float> values; // product of shape elements

    std::size_t rank() const { return shape.size(); }
    std::int64_t dim(std::size_t i) const { return shape[i]; }
};

// A model's float32 outputs of one run, by output name.
using FloatOutputs = std::map<std::string, FloatArray>;

// What runs the model, as eval sees it: one input name, its declared info,
// the output names (in the model's order) and a function that runs one batch
// fed to that input. `run` returns at least the float32 outputs (outputs of
// other element types may be left out: predict reads only float32 ones) and
// stops with ErrorCode::Cancelled when its cancel token fires.
struct ModelRunner
{
    std::string inputName;
    graph::TensorInfo inputInfo;
    std::vector<std::string> outputNames;
    std::function<Result<FloatOutputs>(const FloatArray &input)> run;
};

struct PredictOptions
{
    std::vector<std::string> features; // explicit columns, model order
    std::string featurePrefix;         // or every column starting with this
    std::size_t batchRows = 4096;
    // Feed missing values as NaN instead of refusing them (for models whose
    // graph handles missing values, e.g. robustness's missing-value runs).
    bool allowMissing = false;
    const CancelToken *cancel = nullptr;
    ProgressFn progress; // (fraction of rows done, "N / M rows")
};

struct Predictions
{
    std::vector<std::string> featureColumns;
    std::string outputName;          // the model output used
    std::vector<std::string> labels; // class labels, "0".."C-1"
    std::size_t rows = 0;
    std::vector<double> proba;           // rows * labels.size(), row-major
    std::vector<std::int32_t> predicted; // index into labels per row

    double probability(std::size_t row, std::size_t label) const
    {
        return proba[row * labels.size() + label];
    }
};

// The feature columns `options` selects in `table` (errors name the column).
Result<std::vector<std::string>> resolveFeatureColumns(const Table &table,
                                                       const PredictOptions &options);

Result<Predictions> predict(const Table &table, const ModelRunner &model,
                            const PredictOptions &options);

// The batch loop behind predict(): runs `model` over `rows` rows, `batchRows`
// at a time; makeInput(begin, n) builds the input tensor of rows [begin,
// begin + n) (tabular features, images...). Fills labels, proba, predicted.
Result<Predictions>
predictBatches(std::size_t rows, std::size_t batchRows,
               const std::function<FloatArray(std::size_t, std::size_t)> &makeInput,
               const ModelRunner &model, const PredictOptions &options);

// Names of the columns predictions add: "prediction", then "proba_<label>".
std::vector<std::string> predictionColumnNames(const Predictions &predictions);

// Appends numerical columns `prediction` and `proba_<label>` to `table`
// (only those named in `only`, when it is not empty). InvalidInput when the
// table already has a column of one of these names.
Status appendPredictionColumns(Table &table, const Predictions &predictions,
                               const std::vector<std::string> &only = {});

// Writes `input` (RFC 4180 CSV; fields copied verbatim, re-quoted when they
// need it) with the prediction columns appended to every row. The input must
// be the file `predictions` was computed from (same row count).
Status writePredictionsCsv(const std::filesystem::path &input, const Predictions &predictions,
                           const std::filesystem::path &output);

} // namespace sb::eval
