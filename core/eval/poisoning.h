// Poisoning screen of training data: rows whose label or features look
// planted or corrupted. The result is the JSON object
// `shardbench-cli poisoning --json` prints (and `quality --train` embeds).
//
// Checks (features standardised like scikit-learn's StandardScaler: mean 0,
// population std 1, a constant feature left at scale 1; a missing value is
// imputed with the mean, i.e. 0 after standardising, and counted):
//  - kNN label disagreement: the k nearest other rows by Euclidean distance
//    (brute force; ties by row order), the share whose label differs =
//    scikit-learn NearestNeighbors(n_neighbors=k).kneighbors() without X (a
//    row is not its own neighbour). A row is flagged when the share exceeds
//    `minDisagreement` (default 0.5: most neighbours disagree).
//  - confident-learning label issues (Northcutt, Jiang & Chuang 2021), when
//    out-of-fold predicted probabilities are given (columns PREFIX<label>):
//    per-class thresholds t_j = mean P(j) over rows labelled j; a row's
//    confident class is the arg max of P(j) over classes with P(j) >= t_j;
//    an issue when that class is not the given label (cleanlab's
//    filter_by='confident_learning'); the confident joint is reported.
//  - exact and near duplicates with conflicting labels: rows whose raw
//    feature values are equal (exact) or whose standardised distance is
//    <= `nearDistance` (near) and whose labels differ; groups are connected
//    components over such neighbour pairs.
//  - outliers: modified z-score (Iglewicz & Hoaglin) of the mean distance to
//    the k neighbours, flagged when > `outlierZ` (3.5).
// Score per row (higher = more suspicious): kNN disagreement share
//   + (1 - P(given label)) when probabilities are given
//   + 1 in a conflicting duplicate group + 0.25 when an outlier.
// Rows are listed when any check flags them, by score (then row).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sb::eval {

struct PoisoningOptions
{
    std::string label;
    std::vector<std::string> features; // explicit columns
    std::string featurePrefix;         // or every column starting with this
    // (neither: every numerical column except the label and probabilities)
    std::string probaPrefix; // out-of-fold probabilities, "" = none
    int k = 10;
    double minDisagreement = 0.5;
    double nearDistance = 1e-3;
    double outlierZ = 3.5;
    unsigned threads = 0;
};

struct PoisoningReport
{
    nlohmann::json json;
    std::vector<std::size_t> ranked; // flagged rows, most suspicious first
};

// kNN on standardised rows (row-major n x d): neighbour indices and
// distances, k per row, nearest first (ties by index), self excluded.
struct Neighbours
{
    std::size_t k = 0;
    std::vector<std::uint32_t> index;
    std::vector<double> distance;
};
Neighbours nearestNeighbours(const std::vector<double> &x, std::size_t rows, std::size_t dims,
                             std::size_t k, unsigned threads = 0,
                             const CancelToken *cancel = nullptr);

// Index of `label` in `classes` (equal text, or equal numbers: "1" == "1.0"),
// -1 when absent.
int classIndex(const std::vector<std::string> &classes, const std::string &label);

Result<PoisoningReport> screenPoisoning(const Table &table, const PoisoningOptions &options,
                                        const CancelToken *cancel = nullptr,
                                        const ProgressFn &progress = {});

} // namespace sb::eval
