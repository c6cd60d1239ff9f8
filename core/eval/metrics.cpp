#include "core/eval/metrics.h"

#include "core/eval/parallel.h"
#include "core/eval/radix_sort.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace sb::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = DBL_EPSILON;
constexpr std::size_t kChunk = std::size_t(1) << 16; // rows per parallel work item

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
    // Descending scores: ascending complemented keys, the label carried along
    // (ties are collapsed below, so their order does not matter).
    std::vector<std::uint64_t> keys(scores.size());
    std::vector<char> label(positives.begin(), positives.end());
    for (std::size_t i = 0; i < scores.size(); ++i)
        keys[i] = ~orderedKey(scores[i]);
    radixSort<char>(keys, label);
    Sweep s;
    double tp = 0, fp = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (label[i])
            tp += 1;
        else
            fp += 1;
        if (i + 1 == keys.size() || keys[i + 1] != keys[i]) {
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
    BinSums sums(edges);
    for (std::size_t i = 0; i < conf.size(); ++i)
        sums.add(conf[i], correct[i] != 0);
    return sums.bins();
}

void eceOf(const std::vector<CalibrationBin> &bins, std::size_t n, double &ece, double &mce)
{
    calibrationErrors(bins, n, ece, mce);
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

BinSums::BinSums(std::vector<double> edges)
    : m_edges(std::move(edges)), m_conf(m_edges.size() - 1, 0), m_correct(m_edges.size() - 1, 0),
      m_count(m_edges.size() - 1, 0)
{}

std::size_t BinSums::binOf(double confidence) const
{
    auto it = std::lower_bound(m_edges.begin() + 1, m_edges.end() - 1, confidence);
    return static_cast<std::size_t>(it - (m_edges.begin() + 1));
}

void BinSums::addMany(double confidence, std::uint64_t count, std::uint64_t correct)
{
    const std::size_t b = binOf(confidence);
    m_count[b] += count;
    m_conf[b] += static_cast<long double>(confidence) * static_cast<long double>(count);
    m_correct[b] += static_cast<long double>(correct);
}

std::vector<CalibrationBin> BinSums::bins(bool flip) const
{
    std::vector<CalibrationBin> out;
    for (std::size_t b = 0; b < m_count.size(); ++b) {
        if (m_count[b] == 0)
            continue;
        CalibrationBin bin;
        bin.lower = m_edges[b];
        bin.upper = m_edges[b + 1];
        bin.count = m_count[b];
        const long double correct =
            flip ? static_cast<long double>(m_count[b]) - m_correct[b] : m_correct[b];
        bin.confidence = static_cast<double>(m_conf[b] / m_count[b]);
        bin.accuracy = static_cast<double>(correct / m_count[b]);
        out.push_back(bin);
    }
    return out;
}

void calibrationErrors(const std::vector<CalibrationBin> &bins, std::size_t n, double &ece,
                       double &mce)
{
    ece = 0;
    mce = 0;
    for (const auto &b : bins) {
        const double gap = std::fabs(b.accuracy - b.confidence);
        ece += static_cast<double>(b.count) / static_cast<double>(n) * gap;
        mce = std::max(mce, gap);
    }
}

std::pair<double, double> binaryRocAucAndAp(std::span<const std::uint64_t> positives,
                                            std::span<const std::uint64_t> negatives)
{
    const double P = static_cast<double>(positives.size());
    const double N = static_cast<double>(negatives.size());
    // Descending distinct scores: walk both arrays from their ends.
    std::size_t i = positives.size(), j = negatives.size();
    double tp = 0, fp = 0, area = 0, prevTp = 0, prevFp = 0, ap = 0, prevRecall = 0;
    bool apDone = P == 0;
    while (i > 0 || j > 0) {
        const std::uint64_t key =
            std::max(i > 0 ? positives[i - 1] : 0, j > 0 ? negatives[j - 1] : 0);
        while (i > 0 && positives[i - 1] == key) {
            tp += 1;
            --i;
        }
        while (j > 0 && negatives[j - 1] == key) {
            fp += 1;
            --j;
        }
        area += (fp - prevFp) * (tp + prevTp);
        prevTp = tp;
        prevFp = fp;
        if (!apDone) {
            const double recall = tp / P;
            ap += (recall - prevRecall) * (tp / (tp + fp));
            prevRecall = recall;
            apDone = tp == P;
        }
    }
    const double auc = (P == 0 || N == 0) ? kNaN : area / (2.0 * P * N);
    return {auc, P == 0 ? kNaN : ap};
}

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
    parallelFor((z.size() + kChunk - 1) / kChunk, 0, [&](std::size_t c) {
        for (std::size_t i = c * kChunk, e = std::min(z.size(), i + kChunk); i < e; ++i)
            z[i] = std::log(std::clamp(data.proba[i], kEps, 1 - kEps));
    });
    return z;
}

// Sums fn(row) over `rows` on all cores: fixed chunks of kChunk rows, each
// summed in double, the chunk sums added in order in long double (the result
// does not depend on the thread count).
template <std::size_t N, typename Fn>
std::array<long double, N> chunkedSums(std::span<const RowIndex> rows, Fn &&fn)
{
    const std::size_t chunks = (rows.size() + kChunk - 1) / kChunk;
    std::vector<std::array<double, N>> partial(chunks);
    parallelFor(chunks, 0, [&](std::size_t c) {
        std::array<double, N> acc{};
        for (std::size_t i = c * kChunk, e = std::min(rows.size(), i + kChunk); i < e; ++i)
            fn(rows[i], acc);
        partial[c] = acc;
    });
    std::array<long double, N> total{};
    for (const auto &p : partial)
        for (std::size_t k = 0; k < N; ++k)
            total[k] += p[k];
    return total;
}

double scaledNll(const std::vector<double> &z, const ClassificationData &data,
                 std::span<const RowIndex> rows, double temperature)
{
    const std::size_t K = data.classes();
    auto total = chunkedSums<1>(rows, [&](RowIndex r, std::array<double, 1> &acc) {
        const double *zr = &z[static_cast<std::size_t>(r) * K];
        double maxZ = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < K; ++k)
            maxZ = std::max(maxZ, zr[k] / temperature);
        double sum = 0;
        for (std::size_t k = 0; k < K; ++k)
            sum += std::exp(zr[k] / temperature - maxZ);
        acc[0] += -(zr[data.yTrue[r]] / temperature - maxZ - std::log(sum));
    });
    return static_cast<double>(total[0] / static_cast<long double>(rows.size()));
}

// softmax(z / T) of one row into out[0..K).
void scaledRow(const double *z, std::size_t K, double temperature, double *out)
{
    double maxZ = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < K; ++k)
        maxZ = std::max(maxZ, z[k] / temperature);
    double sum = 0;
    for (std::size_t k = 0; k < K; ++k) {
        out[k] = std::exp(z[k] / temperature - maxZ);
        sum += out[k];
    }
    for (std::size_t k = 0; k < K; ++k)
        out[k] /= sum;
}

// d/dbeta and d2/dbeta2 of the mean NLL of softmax(beta * z) (beta = 1/T):
// sum over rows of (E_s[z] - z_y) and Var_s[z], s = softmax(beta * z).
std::array<long double, 2> nllDerivatives(const std::vector<double> &z,
                                          const ClassificationData &data,
                                          std::span<const RowIndex> rows, double beta)
{
    const std::size_t K = data.classes();
    return chunkedSums<2>(rows, [&](RowIndex r, std::array<double, 2> &acc) {
        const double *zr = &z[static_cast<std::size_t>(r) * K];
        double maxZ = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < K; ++k)
            maxZ = std::max(maxZ, beta * zr[k]);
        double sum = 0, first = 0;
        for (std::size_t k = 0; k < K; ++k) {
            const double w = std::exp(beta * zr[k] - maxZ);
            sum += w;
            first += w * zr[k];
        }
        const double mean = first / sum;
        double var = 0;
        for (std::size_t k = 0; k < K; ++k) {
            const double d = zr[k] - mean;
            var += std::exp(beta * zr[k] - maxZ) * d * d;
        }
        acc[0] += mean - zr[data.yTrue[r]];
        acc[1] += var / sum;
    });
}

double fitTemperatureOn(const std::vector<double> &z, const ClassificationData &data,
                        std::span<const RowIndex> rows)
{
    return minimiseOverInverseTemperature(
        [&](double beta) { return nllDerivatives(z, data, rows, beta); });
}

} // namespace

double minimiseOverInverseTemperature(
    const std::function<std::array<long double, 2>(double beta)> &derivatives)
{
    double lo = 0.01, hi = 100.0, beta = 1.0;
    for (int iteration = 0; iteration < 200; ++iteration) {
        const auto [g, h] = derivatives(beta);
        if (g == 0)
            break;
        if (g > 0)
            hi = beta;
        else
            lo = beta;
        double next = h > 0 ? beta - static_cast<double>(g / h) : -1.0;
        if (!(next > lo && next < hi))
            next = std::sqrt(lo * hi); // bisection in log beta
        const double step = std::fabs(next - beta);
        beta = next;
        if (step <= 1e-14 * beta || hi - lo <= 1e-14 * lo)
            break;
    }
    return 1.0 / beta;
}

double fitTemperature(const ClassificationData &data, std::span<const RowIndex> rows,
                      double *nllBefore, double *nllAfter)
{
    if (!data.hasProba() || rows.empty())
        return kNaN;
    const std::vector<double> z = logits(data);
    const double temperature = fitTemperatureOn(z, data, rows);
    if (nllBefore)
        *nllBefore = scaledNll(z, data, rows, 1.0);
    if (nllAfter)
        *nllAfter = scaledNll(z, data, rows, temperature);
    return temperature;
}

ClassificationData applyTemperature(const ClassificationData &data, double temperature)
{
    ClassificationData out = data;
    if (!data.hasProba())
        return out;
    const std::size_t K = data.classes();
    const std::vector<double> z = logits(data);
    for (std::size_t r = 0; r < data.rows(); ++r) {
        scaledRow(&z[r * K], K, temperature, &out.proba[r * K]);
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
        radixSortDoubles(sorted);
        const std::vector<double> qs = unitEdges(bins);
        for (double q : qs)
            edges.push_back(quantileSorted(sorted, q));
    }
    cal.bins = binConfidences(conf, correct, edges);
    eceOf(cal.bins, rows.size(), cal.ece, cal.mce);

    // Adaptive ECE: equal-mass bins over the stably sorted confidences.
    const std::size_t n = conf.size();
    {
        std::vector<std::uint64_t> keys(n);
        std::vector<char> sortedCorrect(correct);
        for (std::size_t i = 0; i < n; ++i)
            keys[i] = orderedKey(conf[i]);
        radixSort<char>(keys, sortedCorrect); // stable: ties keep row order
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
                sc += fromOrderedKey(keys[i]);
                sa += sortedCorrect[i];
            }
            at += size;
            const double gap =
                std::fabs(static_cast<double>(sa / size) - static_cast<double>(sc / size));
            cal.adaptiveEce += static_cast<double>(size) / static_cast<double>(n) * gap;
        }
    }

    if (withTemperature) {
        const std::vector<double> z = logits(data);
        cal.temperature = fitTemperatureOn(z, data, rows);
        cal.nllBefore = scaledNll(z, data, rows, 1.0);
        cal.nllAfter = scaledNll(z, data, rows, cal.temperature);
        // Confidences after scaling (predictions unchanged), as applyTemperature
        // would give them, without copying the data.
        const std::size_t K = data.classes();
        parallelFor((n + kChunk - 1) / kChunk, 0, [&](std::size_t c) {
            std::vector<double> row(K);
            for (std::size_t i = c * kChunk, e = std::min(n, i + kChunk); i < e; ++i) {
                const std::size_t r = rows[i];
                scaledRow(&z[r * K], K, cal.temperature, row.data());
                conf[i] = row[static_cast<std::size_t>(data.yPred[r])];
            }
        });
        cal.binsAfterTemperature = binConfidences(conf, correct, unitEdges(bins));
        double mceAfter = 0;
        eceOf(cal.binsAfterTemperature, n, cal.eceAfterTemperature, mceAfter);
    } else {
        cal.temperature = cal.eceAfterTemperature = kNaN;
    }
    return cal;
}

void fillConfusionMetrics(ClassificationMetrics &m, const std::vector<std::string> &labels)
{
    const std::size_t K = labels.size();
    std::uint64_t correct = 0;
    for (std::size_t k = 0; k < K; ++k)
        correct += m.confusion[k][k];
    const double n = static_cast<double>(m.rows);
    m.accuracy = m.rows == 0 ? kNaN : static_cast<double>(correct) / n;
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
        cs.label = labels[k];
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
}

ClassificationMetrics classificationMetrics(const ClassificationData &data,
                                            std::span<const RowIndex> rows, int bins)
{
    ClassificationMetrics m;
    const std::size_t K = data.classes();
    m.rows = rows.size();
    m.confusion.assign(K, std::vector<std::uint64_t>(K, 0));
    for (RowIndex r : rows)
        ++m.confusion[static_cast<std::size_t>(data.yTrue[r])]
                     [static_cast<std::size_t>(data.yPred[r])];
    fillConfusionMetrics(m, data.labels);
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
