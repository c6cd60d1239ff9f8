// Classification and regression metrics, calibration, temperature scaling
// and bootstrap confidence intervals.
//
// Definitions match scikit-learn 1.2 / numpy 1.24 (Debian 12) exactly; the
// tests compare against values those libraries computed:
//  - labels: the sorted union of y_true and y_pred (and the probability
//    columns); precision/recall/F1 are 0 where undefined (zero_division=0);
//    macro = unweighted mean over those labels, weighted = weighted by true
//    support; balanced accuracy = mean recall over labels present in y_true;
//  - ROC AUC: trapezoid under the ROC curve with tied scores collapsed into
//    one threshold; multiclass = one-vs-rest macro over the labels in y_true;
//  - average precision: sum_n (R_n - R_{n-1}) P_n over distinct thresholds
//    (no interpolation); multiclass = one-vs-rest macro;
//  - log loss: probabilities clipped to [eps, 1-eps], eps = DBL_EPSILON,
//    then each row renormalised to sum 1 (binary score p -> [1-p, p] after
//    clipping p), natural log, mean over rows;
//  - Brier: binary mean (1[y=pos] - p)^2; multiclass mean over rows of
//    sum_k (p_k - 1[y=k])^2;
//  - MAE, RMSE, R^2 (1 when y is constant and fitted exactly, else 0 when
//    constant), MAPE = mean |y - yhat| / max(|y|, DBL_EPSILON).
// Every metric takes a list of row indices (repeats allowed), so slices and
// bootstrap resamples reuse the same code. Undefined values are NaN.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace sb::eval {

using RowIndex = std::uint32_t;

// Classification inputs, label-encoded. labels is sorted (numerically when
// every label is a number, else lexicographically).
struct ClassificationData
{
    std::vector<std::string> labels;
    std::vector<int> yTrue; // index into labels
    std::vector<int> yPred; // index into labels
    // Probabilities, rows x labels.size() row-major; empty when only hard
    // predictions are known.
    std::vector<double> proba;
    // Binary score mode (--score): P(positive) per row; proba is then
    // [1-s, s] in label order, and log loss/Brier use the score as sklearn does.
    std::vector<double> score;
    int positive = -1; // index of the positive label in score mode (else -1)

    std::size_t rows() const { return yTrue.size(); }
    std::size_t classes() const { return labels.size(); }
    bool hasProba() const { return !proba.empty(); }
    // Probability of the predicted label (top-label confidence when yPred is
    // the arg max); requires hasProba().
    double confidence(RowIndex row) const;
};

struct ClassScores
{
    std::string label;
    double precision = 0, recall = 0, f1 = 0;
    std::uint64_t support = 0;
};

struct ClassificationMetrics
{
    std::size_t rows = 0;
    double accuracy = 0, balancedAccuracy = 0;
    double precisionMacro = 0, recallMacro = 0, f1Macro = 0, f1Weighted = 0;
    double rocAuc = 0, averagePrecision = 0, logLoss = 0, brier = 0, ece = 0, mce = 0;
    std::vector<ClassScores> perClass;
    std::vector<std::vector<std::uint64_t>> confusion; // [true][pred]
};

struct RegressionMetrics
{
    std::size_t rows = 0;
    double mae = 0, rmse = 0, r2 = 0, mape = 0;
};

enum class Binning
{
    Uniform,
    Quantile
};

struct CalibrationBin
{
    double lower = 0, upper = 0; // (lower, upper], the first bin also holds lower
    std::uint64_t count = 0;
    double confidence = 0; // mean top-label confidence
    double accuracy = 0;   // share of correct predictions
};

struct Calibration
{
    std::vector<CalibrationBin> bins; // non-empty bins only
    double ece = 0, mce = 0, adaptiveEce = 0;
    double temperature = 1, eceAfterTemperature = 0, nllBefore = 0, nllAfter = 0;
    // Uniform bins of the confidences after temperature scaling (the ones
    // eceAfterTemperature is computed over); empty without temperature.
    std::vector<CalibrationBin> binsAfterTemperature;
};

std::vector<RowIndex> allRows(std::size_t n);

// Full classification metric set over `rows` (ece/mce with `bins` uniform bins).
ClassificationMetrics classificationMetrics(const ClassificationData &data,
                                            std::span<const RowIndex> rows, int bins = 15);
// Accuracy, per-class scores and their averages from m.confusion (counts,
// [true][pred]) and m.rows; the probability metrics are left as they are.
void fillConfusionMetrics(ClassificationMetrics &m, const std::vector<std::string> &labels);

double rocAuc(const ClassificationData &data, std::span<const RowIndex> rows);
double averagePrecision(const ClassificationData &data, std::span<const RowIndex> rows);
double logLoss(const ClassificationData &data, std::span<const RowIndex> rows);
double brierScore(const ClassificationData &data, std::span<const RowIndex> rows);
// Binary ROC AUC / AP of `scores` for `positives` (ties collapsed).
double binaryRocAuc(std::span<const double> scores, std::span<const char> positives);
double binaryAveragePrecision(std::span<const double> scores, std::span<const char> positives);
// Binary ROC curve at every distinct score (scikit-learn's roc_curve with
// drop_intermediate=False): starts at (0, 0) with threshold +inf, then one
// point per distinct score, descending.
struct RocCurve
{
    std::vector<double> fpr, tpr, thresholds;
};
RocCurve binaryRocCurve(std::span<const double> scores, std::span<const char> positives);

RegressionMetrics regressionMetrics(std::span<const double> yTrue, std::span<const double> yPred,
                                    std::span<const RowIndex> rows);

// numpy.quantile(values, q) with the default 'linear' method; `sorted` ascending.
double quantileSorted(std::span<const double> sorted, double q);
// numpy.linspace(0, 1, n + 1).
std::vector<double> unitEdges(int n);

// Running sums of reliability bins (the streamed form of binning an array of
// confidences): bin b = (e_b, e_b+1], everything <= e_1 in bin 0.
class BinSums
{
public:
    explicit BinSums(std::vector<double> edges);
    void add(double confidence, bool correct)
    {
        const std::size_t b = binOf(confidence);
        ++m_count[b];
        m_conf[b] += confidence;
        m_correct[b] += correct;
    }
    // `count` rows of the same confidence, `correct` of them correct.
    void addMany(double confidence, std::uint64_t count, std::uint64_t correct);
    std::size_t binOf(double confidence) const;
    // Non-empty bins with their mean confidence and accuracy; `flip`: count
    // the incorrect rows as correct instead (the other label positive).
    std::vector<CalibrationBin> bins(bool flip = false) const;

private:
    std::vector<double> m_edges;
    std::vector<long double> m_conf, m_correct;
    std::vector<std::uint64_t> m_count;
};
// ECE (count-weighted mean |accuracy - confidence| over `n` rows) and MCE.
void calibrationErrors(const std::vector<CalibrationBin> &bins, std::size_t n, double &ece,
                       double &mce);

// Binary ROC AUC and average precision from the ascending ordered keys
// (orderedKey) of the positives' and negatives' scores: the same sweep as
// binaryRocAuc/binaryAveragePrecision without materialising it.
std::pair<double, double> binaryRocAucAndAp(std::span<const std::uint64_t> positives,
                                            std::span<const std::uint64_t> negatives);

// Reliability bins, ECE, MCE, adaptive ECE (equal-mass bins = numpy.array_split
// of the confidences sorted stably) and temperature scaling over `rows`.
Calibration calibrate(const ClassificationData &data, std::span<const RowIndex> rows, int bins,
                      Binning binning, bool fitTemperature = true);
double expectedCalibrationError(const ClassificationData &data, std::span<const RowIndex> rows,
                                int bins);
// Temperature T > 0 minimising the mean NLL of softmax(log(clip(p)) / T),
// T in [0.01, 100]: the NLL is convex in 1/T, so a safeguarded Newton
// iteration on its derivative (bisection when a step leaves the bracket)
// finds it in a few multi-threaded passes over the rows.
double fitTemperature(const ClassificationData &data, std::span<const RowIndex> rows,
                      double *nllBefore = nullptr, double *nllAfter = nullptr);
// The temperature T = 1/beta, beta in [0.01, 100], minimising a convex
// function of beta given its first and second derivative at beta:
// safeguarded Newton (bisection in log beta when a step leaves the
// bracket), to 1e-14 relative; a handful of evaluations.
double minimiseOverInverseTemperature(
    const std::function<std::array<long double, 2>(double beta)> &derivatives);
// Data with probabilities softmax(log(clip(p)) / T) (predictions unchanged).
ClassificationData applyTemperature(const ClassificationData &data, double temperature);

// ---- bootstrap -------------------------------------------------------------------
struct BootstrapOptions
{
    int resamples = 1000;
    std::uint64_t seed = 20240611;
    double confidence = 0.95;
    unsigned threads = 0;
};

struct Interval
{
    double lower = 0, upper = 0;
    int valid = 0; // resamples where the metric was defined (not NaN)
};

// Percentile intervals of each named metric over resamples of `rows` (with
// replacement, same size). Resample r uses a generator seeded from (seed, r),
// so the result does not depend on the thread count.
using MetricFn = std::function<std::vector<double>(std::span<const RowIndex>)>;
Result<std::vector<Interval>> bootstrap(std::span<const RowIndex> rows, std::size_t metricCount,
                                        const MetricFn &metrics, const BootstrapOptions &options,
                                        const CancelToken *cancel = nullptr);

} // namespace sb::eval
