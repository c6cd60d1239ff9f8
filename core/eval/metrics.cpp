#include "core/eval/metrics.h"

#include "core/eval/parallel.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace sb::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = DBL_EPSILON;

double safeDiv(double a, double b)
{
    return b == 0 ? 0.0 : a / b;
}

// Binary ROC sweep: thresholds = distinct scores, descending.
struct Sweep
{
    std::vector<double> tps, fps; // cumulative at each distinct threshold
};

Sweep sweep(std::span<const double> scores, std::span<const char> positives)
{
    std::vector<RowIndex> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](RowIndex a, RowIndex b) { return scores[a] > scores[b]; });
    Sweep s;
    double tp = 0, fp = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (positives[order[i]])
            tp += 1;
        else
            fp += 1;
        if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) {
            s.tps.push_back(tp);
            s.fps.push_back(fp);
        }
    }
    return s;
}

} // namespace

std::vector<RowIndex> allRows(std::size_t n)
{
    std::vector<RowIndex> rows(n);
    std::iota(rows.begin(), rows.end(), 0);
    return rows;
}

double ClassificationData::confidence(RowIndex row) const
{
    return proba[static_cast<std::size_t>(row) * classes() + static_cast<std::size_t>(yPred[row])];
}

double binaryRocAuc(std::span<const double> scores, std::span<const char> positives)
{
    Sweep s = sweep(scores, positives);
    if (s.tps.empty())
        return kNaN;
    const double P = s.tps.back(), N = s.fps.back();
    if (P == 0 || N == 0)
        return kNaN;
    // Trapezoid over (fpr, tpr) from (0, 0); in counts, then one division.
    double area = 0, prevTp = 0, prevFp = 0;
    for (std::size_t i = 0; i < s.tps.size(); ++i) {
        area += (s.fps[i] - prevFp) * (s.tps[i] + prevTp);
        prevTp = s.tps[i];
        prevFp = s.fps[i];
    }
    return area / (2.0 * P * N);
}

RocCurve binaryRocCurve(std::span<const double> scores, std::span<const char> positives)
{
    RocCurve curve;
    Sweep s = sweep(scores, positives);
    if (s.tps.empty())
        return curve;
    const double P = s.tps.back(), N = s.fps.back();
    std::vector<double> distinct(scores.begin(), scores.end());
    std::sort(distinct.begin(), distinct.end(), std::greater<>());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    curve.fpr.push_back(0);
    curve.tpr.push_back(0);
    curve.thresholds.push_back(std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < s.tps.size(); ++i) {
        curve.fpr.push_back(N > 0 ? s.fps[i] / N : kNaN);
        curve.tpr.push_back(P > 0 ? s.tps[i] / P : kNaN);
        curve.thresholds.push_back(distinct[i]);
    }
    return curve;
}

double binaryAveragePrecision(std::span<const double> scores, std::span<const char> positives)
{
    Sweep s = sweep(scores, positives);
    if (s.tps.empty())
        return kNaN;
    const double P = s.tps.back();
    if (P == 0)
        return kNaN;
    double ap = 0, prevRecall = 0;
    for (std::size_t i = 0; i < s.tps.size(); ++i) {
        const double recall = s.tps[i] / P;
        const double precision = s.tps[i] / (s.tps[i] + s.fps[i]);
        ap += (recall - prevRecall) * precision;
        prevRecall = recall;
        if (s.tps[i] == P)
            break; // sklearn stops at full recall
    }
    return ap;
}

namespace {

// One-vs-rest over classes present in y_true (both sides non-empty), macro.
template <typename BinaryFn>
double oneVsRest(const ClassificationData &data, std::span<const RowIndex> rows, BinaryFn fn)
{
    if (!data.hasProba() || rows.empty())
        return kNaN;
    const std::size_t K = data.classes();
    std::vector<double> scores(rows.size());
    std::vector<char> positives(rows.size());
    if (data.positive >= 0) { // binary score mode
        for (std::size_t i = 0; i < rows.size(); ++i) {
            scores[i] = data.score[rows[i]];
            positives[i] = data.yTrue[rows[i]] == data.positive;
        }
        return fn(std::span<const double>(scores), std::span<const char>(positives));
    }
    std::vector<std::uint64_t> present(K, 0);
    for (RowIndex r : rows)
        ++present[static_cast<std::size_t>(data.yTrue[r])];
    std::size_t presentCount = 0;
    for (auto c : present)
        presentCount += c > 0;
    if (K == 2 && presentCount == 2) {
        // Binary probabilities: sklearn scores the greater label's column.
        for (std::size_t i = 0; i < rows.size(); ++i) {
            scores[i] = data.proba[rows[i] * K + 1];
            positives[i] = data.yTrue[rows[i]] == 1;
        }
        return fn(std::span<const double>(scores), std::span<const char>(positives));
    }
    double sum = 0;
    int used = 0;
    for (std::size_t k = 0; k < K; ++k) {
        if (present[k] == 0)
            continue;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            scores[i] = data.proba[rows[i] * K + k];
            positives[i] = static_cast<std::size_t>(data.yTrue[rows[i]]) == k;
        }
        double v = fn(std::span<const double>(scores), std::span<const char>(positives));
        if (std::isnan(v))
            return kNaN;
        sum += v;
        ++used;
    }
    return used < 2 ? kNaN : sum / used;
}

} // namespace

double rocAuc(const ClassificationData &data, std::span<const RowIndex> rows)
{
    return oneVsRest(data, rows, binaryRocAuc);
}

double averagePrecision(const ClassificationData &data, std::span<const RowIndex> rows)
{
    return oneVsRest(data, rows, binaryAveragePrecision);
}

double logLoss(const ClassificationData &data, std::span<const RowIndex> rows)
{
    if (!data.hasProba() || rows.empty())
        return kNaN;
    const std::size_t K = data.classes();
    long double total = 0;
    for (RowIndex r : rows) {
        const std::size_t y = static_cast<std::size_t>(data.yTrue[r]);
        double py, sum;
        if (data.positive >= 0) {
            const double p = std::clamp(data.score[r], kEps, 1 - kEps);
            // sklearn: columns [1-p, p] renormalised by their sum.
            const double pPos = p, pNeg = 1 - p;
            sum = pNeg + pPos;
            py = static_cast<int>(y) == data.positive ? pPos : pNeg;
        } else {
            sum = 0;
            for (std::size_t k = 0; k < K; ++k)
                sum += std::clamp(data.proba[r * K + k], kEps, 1 - kEps);
            py = std::clamp(data.proba[r * K + y], kEps, 1 - kEps);
        }
        total += -std::log(py / sum);
    }
    return static_cast<double>(total / static_cast<long double>(rows.size()));
}

double brierScore(const ClassificationData &data, std::span<const RowIndex> rows)
{
    if (!data.hasProba() || rows.empty())
        return kNaN;
    const std::size_t K = data.classes();
    long double total = 0;
    for (RowIndex r : rows) {
        const std::size_t y = static_cast<std::size_t>(data.yTrue[r]);
        if (data.positive >= 0) {
            const double t = static_cast<int>(y) == data.positive ? 1.0 : 0.0;
            const double d = t - data.score[r];
            total += d * d;
        } else {
            double rowSum = 0;
            for (std::size_t k = 0; k < K; ++k) {
                const double d = data.proba[r * K + k] - (k == y ? 1.0 : 0.0);
                rowSum += d * d;
            }
            total += rowSum;
        }
    }
    return static_cast<double>(total / static_cast<long double>(rows.size()));
}

std::vector<double> unitEdges(int n)
{
    std::vector<double> edges(static_cast<std::size_t>(n) + 1);
    const double step = 1.0 / n;
    for (int i = 0; i <= n; ++i)
        edges[static_cast<std::size_t>(i)] = i * step;
    edges.back() = 1.0;
    return edges;
}

double quantileSorted(std::span<const double> sorted, double q)
{
    const std::size_t n = sorted.size();
    if (n == 0)
        return kNaN;
    const double vi = static_cast<double>(n - 1) * q;
    if (vi >= static_cast<double>(n - 1))
        return sorted[n - 1];
    if (vi < 0)
        return sorted[0];
    const double prev = std::floor(vi);
    const std::size_t i = static_cast<std::size_t>(prev);
    const double gamma = vi - prev;
    const double a = sorted[i], b = sorted[i + 1];
    const double diff = b - a;
    return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

namespace {

// Bins (e_i, e_i+1] with everything <= e_1 in bin 0 (numpy searchsorted left
// on the interior edges).
std::vector<CalibrationBin> binConfidences(const std::vector<double> &conf,
                                           const std::vector<char> &correct,
                                           const std::vector<double> &edges)
{
    const std::size_t B = edges.size() - 1;
    std::vector<long double> sumConf(B, 0), sumCorrect(B, 0);
    std::vector<std::uint64_t> count(B, 0);
    for (std::size_t i = 0; i < conf.size(); ++i) {
        auto it = std::lower_bound(edges.begin() + 1, edges.end() - 1, conf[i]);
        const std::size_t b = static_cast<std::size_t>(it - (edges.begin() + 1));
        ++count[b];
        sumConf[b] += conf[i];
        sumCorrect[b] += correct[i];
    }
    std::vector<CalibrationBin> bins;
    for (std::size_t b = 0; b < B; ++b) {
        if (count[b] == 0)
            continue;
        CalibrationBin bin;
        bin.lower = edges[b];
        bin.upper = edges[b + 1];
        bin.count = count[b];
        bin.confidence = static_cast<double>(sumConf[b] / count[b]);
        bin.accuracy = static_cast<double>(sumCorrect[b] / count[b]);
        bins.push_back(bin);
    }
    return bins;
}

void eceOf(const std::vector<CalibrationBin> &bins, std::size_t n, double &ece, double &mce)
{
    ece = 0;
    mce = 0;
    for (const auto &b : bins) {
        const double gap = std::fabs(b.accuracy - b.confidence);
        ece += static_cast<double>(b.count) / static_cast<double>(n) * gap;
        mce = std::max(mce, gap);
    }
}

void confidences(const ClassificationData &data, std::span<const RowIndex> rows,
                 std::vector<double> &conf, std::vector<char> &correct)
{
    conf.resize(rows.size());
    correct.resize(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        conf[i] = data.confidence(rows[i]);
        correct[i] = data.yPred[rows[i]] == data.yTrue[rows[i]];
    }
}

} // namespace

double expectedCalibrationError(const ClassificationData &data, std::span<const RowIndex> rows,
                                int bins)
{
    if (!data.hasProba() || rows.empty())
        return kNaN;
    std::vector<double> conf;
    std::vector<char> correct;
    confidences(data, rows, conf, correct);
    double ece, mce;
    eceOf(binConfidences(conf, correct, unitEdges(bins)), rows.size(), ece, mce);
    return ece;
}

namespace {

// Logits log(clip(p)) per row, rows x K.
std::vector<double> logits(const ClassificationData &data)
{
    std::vector<double> z(data.proba.size());
    for (std::size_t i = 0; i < data.proba.size(); ++i)
        z[i] = std::log(std::clamp(data.proba[i], kEps, 1 - kEps));
    return z;
}

double scaledNll(const std::vector<double> &z, const ClassificationData &data,
                 std::span<const RowIndex> rows, double temperature)
{
    const std::size_t K = data.classes();
    long double total = 0;
    for (RowIndex r : rows) {
        const double *zr = &z[static_cast<std::size_t>(r) * K];
        double maxZ = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < K; ++k)
            maxZ = std::max(maxZ, zr[k] / temperature);
        double sum = 0;
        for (std::size_t k = 0; k < K; ++k)
            sum += std::exp(zr[k] / temperature - maxZ);
        total += -(zr[data.yTrue[r]] / temperature - maxZ - std::log(sum));
    }
    return static_cast<double>(total / static_cast<long double>(rows.size()));
}

} // namespace

double fitTemperature(const ClassificationData &data, std::span<const RowIndex> rows,
                      double *nllBefore, double *nllAfter)
{
    if (!data.hasProba() || rows.empty())
        return kNaN;
    const std::vector<double> z = logits(data);
    auto f = [&](double logT) { return scaledNll(z, data, rows, std::exp(logT)); };
    // Golden-section search: NLL is convex in 1/T, so unimodal in log T.
    const double invPhi = (std::sqrt(5.0) - 1) / 2;
    double a = std::log(0.01), b = std::log(100.0);
    double c = b - invPhi * (b - a), d = a + invPhi * (b - a);
    double fc = f(c), fd = f(d);
    while (b - a > 1e-11) {
        if (fc < fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - invPhi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + invPhi * (b - a);
            fd = f(d);
        }
    }
    const double logT = (a + b) / 2;
    if (nllBefore)
        *nllBefore = f(0.0);
    if (nllAfter)
        *nllAfter = f(logT);
    return std::exp(logT);
}

ClassificationData applyTemperature(const ClassificationData &data, double temperature)
{
    ClassificationData out = data;
    if (!data.hasProba())
        return out;
    const std::size_t K = data.classes();
    const std::vector<double> z = logits(data);
    for (std::size_t r = 0; r < data.rows(); ++r) {
        double maxZ = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < K; ++k)
            maxZ = std::max(maxZ, z[r * K + k] / temperature);
        double sum = 0;
        for (std::size_t k = 0; k < K; ++k) {
            out.proba[r * K + k] = std::exp(z[r * K + k] / temperature - maxZ);
            sum += out.proba[r * K + k];
        }
        for (std::size_t k = 0; k < K; ++k)
            out.proba[r * K + k] /= sum;
        if (out.positive >= 0)
            out.score[r] = out.proba[r * K + static_cast<std::size_t>(out.positive)];
    }
    return out;
}

Calibration calibrate(const ClassificationData &data, std::span<const RowIndex> rows, int bins,
                      Binning binning, bool withTemperature)
{
    Calibration cal;
    if (!data.hasProba() || rows.empty() || bins < 1) {
        cal.ece = cal.mce = cal.adaptiveEce = cal.temperature = cal.eceAfterTemperature = kNaN;
        return cal;
    }
    std::vector<double> conf;
    std::vector<char> correct;
    confidences(data, rows, conf, correct);
    std::vector<double> edges;
    if (binning == Binning::Uniform) {
        edges = unitEdges(bins);
    } else {
        std::vector<double> sorted = conf;
        std::sort(sorted.begin(), sorted.end());
        const std::vector<double> qs = unitEdges(bins);
        for (double q : qs)
            edges.push_back(quantileSorted(sorted, q));
    }
    cal.bins = binConfidences(conf, correct, edges);
    eceOf(cal.bins, rows.size(), cal.ece, cal.mce);

    // Adaptive ECE: equal-mass bins over the stably sorted confidences.
    std::vector<std::size_t> order(conf.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return conf[a] < conf[b]; });
    const std::size_t n = conf.size();
    const std::size_t B = static_cast<std::size_t>(bins);
    const std::size_t base = n / B, extra = n % B;
    std::size_t at = 0;
    cal.adaptiveEce = 0;
    for (std::size_t b = 0; b < B; ++b) {
        const std::size_t size = base + (b < extra ? 1 : 0);
        if (size == 0)
            continue;
        long double sc = 0, sa = 0;
        for (std::size_t i = at; i < at + size; ++i) {
            sc += conf[order[i]];
            sa += correct[order[i]];
        }
        at += size;
        const double gap =
            std::fabs(static_cast<double>(sa / size) - static_cast<double>(sc / size));
        cal.adaptiveEce += static_cast<double>(size) / static_cast<double>(n) * gap;
    }

    if (withTemperature) {
        cal.temperature = fitTemperature(data, rows, &cal.nllBefore, &cal.nllAfter);
        ClassificationData scaled = applyTemperature(data, cal.temperature);
        cal.eceAfterTemperature = expectedCalibrationError(scaled, rows, bins);
    } else {
        cal.temperature = cal.eceAfterTemperature = kNaN;
    }
    return cal;
}

ClassificationMetrics classificationMetrics(const ClassificationData &data,
                                            std::span<const RowIndex> rows, int bins)
{
    ClassificationMetrics m;
    const std::size_t K = data.classes();
    m.rows = rows.size();
    m.confusion.assign(K, std::vector<std::uint64_t>(K, 0));
    std::uint64_t correct = 0;
    for (RowIndex r : rows) {
        ++m.confusion[static_cast<std::size_t>(data.yTrue[r])]
                     [static_cast<std::size_t>(data.yPred[r])];
        correct += data.yTrue[r] == data.yPred[r];
    }
    const double n = static_cast<double>(rows.size());
    m.accuracy = rows.empty() ? kNaN : static_cast<double>(correct) / n;
    // Per-class over labels appearing in y_true or y_pred of these rows.
    double sumP = 0, sumR = 0, sumF = 0, weightedF = 0, sumRecallPresent = 0;
    int used = 0, present = 0;
    std::uint64_t totalSupport = 0;
    for (std::size_t k = 0; k < K; ++k) {
        std::uint64_t tp = m.confusion[k][k], support = 0, predicted = 0;
        for (std::size_t j = 0; j < K; ++j) {
            support += m.confusion[k][j];
            predicted += m.confusion[j][k];
        }
        ClassScores cs;
        cs.label = data.labels[k];
        cs.support = support;
        cs.precision = safeDiv(static_cast<double>(tp), static_cast<double>(predicted));
        cs.recall = safeDiv(static_cast<double>(tp), static_cast<double>(support));
        const double denom = cs.precision + cs.recall;
        cs.f1 = denom == 0 ? 0.0 : 2.0 * cs.precision * cs.recall / denom;
        m.perClass.push_back(cs);
        if (support == 0 && predicted == 0)
            continue; // label absent from these rows
        ++used;
        sumP += cs.precision;
        sumR += cs.recall;
        sumF += cs.f1;
        weightedF += cs.f1 * static_cast<double>(support);
        totalSupport += support;
        if (support > 0) {
            ++present;
            sumRecallPresent += cs.recall;
        }
    }
    m.precisionMacro = used ? sumP / used : kNaN;
    m.recallMacro = used ? sumR / used : kNaN;
    m.f1Macro = used ? sumF / used : kNaN;
    m.f1Weighted = totalSupport ? weightedF / static_cast<double>(totalSupport) : kNaN;
    m.balancedAccuracy = present ? sumRecallPresent / present : kNaN;
    m.rocAuc = rocAuc(data, rows);
    m.averagePrecision = averagePrecision(data, rows);
    m.logLoss = logLoss(data, rows);
    m.brier = brierScore(data, rows);
    if (data.hasProba() && !rows.empty()) {
        std::vector<double> conf;
        std::vector<char> ok;
        confidences(data, rows, conf, ok);
        eceOf(binConfidences(conf, ok, unitEdges(bins)), rows.size(), m.ece, m.mce);
    } else {
        m.ece = m.mce = kNaN;
    }
    return m;
}

const std::vector<std::string> &classificationMetricNames()
{
    static const std::vector<std::string> names = {"accuracy",
                                                   "balanced_accuracy",
                                                   "precision_macro",
                                                   "recall_macro",
                                                   "f1_macro",
                                                   "f1_weighted",
                                                   "roc_auc",
                                                   "average_precision",
                                                   "log_loss",
                                                   "brier",
                                                   "ece",
                                                   "mce"};
    return names;
}

double classificationMetric(const ClassificationData &data, std::span<const RowIndex> rows,
                            const std::string &name, int bins)
{
    if (name == "roc_auc")
        return rocAuc(data, rows);
    if (name == "average_precision")
        return averagePrecision(data, rows);
    if (name == "log_loss")
        return logLoss(data, rows);
    if (name == "brier")
        return brierScore(data, rows);
    const ClassificationMetrics m = classificationMetrics(data, rows, bins);
    if (name == "accuracy")
        return m.accuracy;
    if (name == "balanced_accuracy")
        return m.balancedAccuracy;
    if (name == "precision_macro")
        return m.precisionMacro;
    if (name == "recall_macro")
        return m.recallMacro;
    if (name == "f1_macro")
        return m.f1Macro;
    if (name == "f1_weighted")
        return m.f1Weighted;
    if (name == "ece")
        return m.ece;
    if (name == "mce")
        return m.mce;
    return kNaN;
}

RegressionMetrics regressionMetrics(std::span<const double> yTrue, std::span<const double> yPred,
                                    std::span<const RowIndex> rows)
{
    RegressionMetrics m;
    m.rows = rows.size();
    if (rows.empty()) {
        m.mae = m.rmse = m.r2 = m.mape = kNaN;
        return m;
    }
    long double absErr = 0, sqErr = 0, pctErr = 0, sumY = 0;
    for (RowIndex r : rows) {
        const double e = yTrue[r] - yPred[r];
        absErr += std::fabs(e);
        sqErr += e * e;
        pctErr += std::fabs(yPred[r] - yTrue[r]) / std::max(std::fabs(yTrue[r]), kEps);
        sumY += yTrue[r];
    }
    const long double n = static_cast<long double>(rows.size());
    const double meanY = static_cast<double>(sumY / n);
    long double ssTot = 0;
    for (RowIndex r : rows) {
        const double d = yTrue[r] - meanY;
        ssTot += d * d;
    }
    m.mae = static_cast<double>(absErr / n);
    m.rmse = std::sqrt(static_cast<double>(sqErr / n));
    m.mape = static_cast<double>(pctErr / n);
    if (ssTot == 0)
        m.r2 = sqErr == 0 ? 1.0 : 0.0;
    else
        m.r2 = 1.0 - static_cast<double>(sqErr) / static_cast<double>(ssTot);
    return m;
}

const std::vector<std::string> &regressionMetricNames()
{
    static const std::vector<std::string> names = {"mae", "rmse", "r2", "mape"};
    return names;
}

double regressionMetric(std::span<const double> yTrue, std::span<const double> yPred,
                        std::span<const RowIndex> rows, const std::string &name)
{
    const RegressionMetrics m = regressionMetrics(yTrue, yPred, rows);
    if (name == "mae")
        return m.mae;
    if (name == "rmse")
        return m.rmse;
    if (name == "r2")
        return m.r2;
    if (name == "mape")
        return m.mape;
    return kNaN;
}

Result<std::vector<Interval>> bootstrap(std::span<const RowIndex> rows, std::size_t metricCount,
                                        const MetricFn &metrics, const BootstrapOptions &options,
                                        const CancelToken *cancel)
{
    const int R = std::max(options.resamples, 0);
    std::vector<std::vector<double>> values(static_cast<std::size_t>(R));
    if (!rows.empty()) {
        parallelFor(static_cast<std::size_t>(R), options.threads, [&](std::size_t r) {
            if (cancel && cancel->isCancelled())
                return;
            std::seed_seq seq{static_cast<std::uint32_t>(options.seed),
                              static_cast<std::uint32_t>(options.seed >> 32),
                              static_cast<std::uint32_t>(r)};
            std::mt19937_64 rng(seq);
            std::uniform_int_distribution<std::size_t> pick(0, rows.size() - 1);
            std::vector<RowIndex> sample(rows.size());
            for (auto &s : sample)
                s = rows[pick(rng)];
            values[r] = metrics(sample);
        });
    }
    if (cancel && cancel->isCancelled())
        return makeError(ErrorCode::Cancelled, "bootstrap cancelled");
    std::vector<Interval> out(metricCount);
    const double alpha = (1 - options.confidence) / 2;
    for (std::size_t m = 0; m < metricCount; ++m) {
        std::vector<double> v;
        for (const auto &row : values)
            if (m < row.size() && !std::isnan(row[m]))
                v.push_back(row[m]);
        std::sort(v.begin(), v.end());
        out[m].valid = static_cast<int>(v.size());
        out[m].lower = v.empty() ? kNaN : quantileSorted(v, alpha);
        out[m].upper = v.empty() ? kNaN : quantileSorted(v, 1 - alpha);
    }
    return out;
}

} // namespace sb::eval
