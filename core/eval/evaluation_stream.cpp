// evaluateCsv(): binary --score evaluations streamed in bounded memory (see
// evaluation.h); everything else through readCsv() + evaluate().
//
// One pass over the file keeps, per row, only the score's ordered key in the
// array of its label (8 bytes a row) and, in row order, the sums that depend
// on row order in evaluate(): log loss, Brier, the uniform reliability bins
// (for both choices of the positive label, which is only known once every
// label has been seen). Then:
//  - ROC AUC / average precision: one sweep down both sorted arrays;
//  - adaptive ECE: the confidences in ascending order are a merge of four
//    monotone runs (each label's scores above and below the threshold);
//    where a run of equal confidences mixes correct and wrong rows and
//    straddles an equal-mass bin boundary, the stable order (row order)
//    decides which rows fall on which side: a second pass over the label and
//    score columns counts them;
//  - temperature scaling: Newton on the convex NLL in 1/T over the sorted
//    arrays, one log pair and one exp per distinct score per pass.
#include "core/eval/evaluation.h"
#include "core/eval/evaluation_detail.h"
#include "core/eval/parallel.h"
#include "core/eval/radix_sort.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>

namespace sb::eval {

namespace {

using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = DBL_EPSILON;

// Whether the spec can be streamed (else: readCsv + evaluate).
bool streamable(const EvalSpec &spec)
{
    return !spec.score.empty() && spec.probaPrefix.empty() && spec.pred.empty() &&
           (spec.task.empty() || spec.task == "classification") && spec.slices.empty() &&
           !spec.autoSlices && spec.bootstrap == 0 && spec.binning == Binning::Uniform &&
           spec.bins >= 1 && spec.bins <= 1000;
}

// The scores of one label as ordered keys, in parts (one per chunk).
struct KeyParts
{
    std::vector<std::vector<std::uint64_t>> parts;
    std::vector<std::uint64_t> takeSorted() { return sortedFromParts(parts); }
};

// Row-order state of pass 1. Label ids are given in order of first
// appearance (at most 2, else the in-memory path reports the error); the
// sums are kept for "id 0 is the positive label" (slot 0) and "id 1 is" (1).
struct Pass1
{
    std::vector<std::string> labelTexts; // by id
    std::unordered_map<std::uint64_t, int> idOfValue;
    std::array<KeyParts, 2> keys;
    std::array<std::array<std::uint64_t, 2>, 2> confusion{}; // [id][predicted positive]
    std::array<long double, 2> logLoss{}, brier{};
    std::optional<BinSums> bins; // correct counted for slot 0
    std::size_t rows = 0, dropped = 0;
};

// Ids of the label values of one chunk (-1 = missing): the index of the
// value's text in `texts`, new texts appended while there are fewer than
// two (`grow`). False when a value needs an id it cannot get. `cache` maps a
// value (its bits, or its category code) to its id and belongs to one reader.
bool labelIds(const Column &label, std::vector<std::string> &texts,
              std::unordered_map<std::uint64_t, int> &cache, bool grow, std::vector<int> &ids)
{
    ids.resize(label.size());
    // The last two values seen, before the map (labels are mostly two values).
    std::array<std::uint64_t, 2> recentKey{};
    std::array<int, 2> recentId{-2, -2};
    for (std::size_t r = 0; r < label.size(); ++r) {
        if (label.isMissing(r)) {
            ids[r] = -1;
            continue;
        }
        const std::uint64_t key = label.type == ColumnType::Categorical
                                      ? static_cast<std::uint64_t>(label.codes[r])
                                      : std::bit_cast<std::uint64_t>(label.numbers[r]);
        if (recentId[0] != -2 && recentKey[0] == key) {
            ids[r] = recentId[0];
            continue;
        }
        if (recentId[1] != -2 && recentKey[1] == key) {
            ids[r] = recentId[1];
            continue;
        }
        auto it = cache.find(key);
        if (it == cache.end()) {
            const std::string text = label.text(r);
            auto same = std::find(texts.begin(), texts.end(), text);
            const int id = static_cast<int>(same - texts.begin());
            if (same == texts.end()) {
                if (!grow || texts.size() == 2)
                    return false;
                texts.push_back(text);
            }
            it = cache.emplace(key, id).first;
        }
        ids[r] = it->second;
        recentKey[1] = recentKey[0];
        recentId[1] = recentId[0];
        recentKey[0] = key;
        recentId[0] = it->second;
    }
    return true;
}

// z = log(clip(p)) of the two probabilities [1 - s, s] as prepare() builds
// them (P(positive) = s), and the row's NLL terms for the scaled softmax.
struct Logits
{
    double positive, negative;
};
Logits logitsOf(double s)
{
    return {std::log(std::clamp(s, kEps, 1 - kEps)), std::log(std::clamp(1 - s, kEps, 1 - kEps))};
}

// Runs of equal keys of a sorted array, split into chunks for the threads:
// fn(key, count, acc) per run (a run cut by a chunk boundary is two runs).
template <std::size_t N, typename Fn>
std::array<long double, N> sumOverRuns(std::span<const std::uint64_t> keys, Fn &&fn)
{
    constexpr std::size_t kChunk = std::size_t(1) << 18;
    const std::size_t chunks = (keys.size() + kChunk - 1) / kChunk;
    std::vector<std::array<double, N>> partial(chunks);
    parallelFor(chunks, 0, [&](std::size_t c) {
        std::array<double, N> acc{};
        const std::size_t end = std::min(keys.size(), (c + 1) * kChunk);
        for (std::size_t i = c * kChunk; i < end;) {
            std::size_t j = i + 1;
            while (j < end && keys[j] == keys[i])
                ++j;
            fn(keys[i], static_cast<double>(j - i), acc);
            i = j;
        }
        partial[c] = acc;
    });
    std::array<long double, N> total{};
    for (const auto &p : partial)
        for (std::size_t k = 0; k < N; ++k)
            total[k] += p[k];
    return total;
}

struct SortedScores
{
    std::vector<std::uint64_t> positive, negative; // ascending ordered keys
};

// d/dbeta, d2/dbeta2 of the summed NLL of softmax(beta * z) over both arrays
// (binary: with d = z_other - z_true, g = sigma(beta d) d, h = g (1 - sigma) d).
std::array<long double, 2> nllDerivatives(const SortedScores &s, double beta)
{
    auto side = [&](std::span<const std::uint64_t> keys, bool positive) {
        return sumOverRuns<2>(
            keys, [&](std::uint64_t key, double count, std::array<double, 2> &acc) {
                const Logits z = logitsOf(fromOrderedKey(key));
                const double d = positive ? z.negative - z.positive : z.positive - z.negative;
                const double other = 1.0 / (1.0 + std::exp(-beta * d));
                acc[0] += count * other * d;
                acc[1] += count * other * (1 - other) * d * d;
            });
    };
    auto a = side(s.positive, true), b = side(s.negative, false);
    return {a[0] + b[0], a[1] + b[1]};
}

// Mean NLL of softmax(z / T), as scaledNll() computes each row.
double scaledNll(const SortedScores &s, double temperature)
{
    auto side = [&](std::span<const std::uint64_t> keys, bool positive) {
        return sumOverRuns<1>(
            keys, [&](std::uint64_t key, double count, std::array<double, 1> &acc) {
                const Logits z = logitsOf(fromOrderedKey(key));
                const double a = z.negative / temperature, b = z.positive / temperature;
                const double maxZ = std::max(a, b);
                const double sum = std::exp(a - maxZ) + std::exp(b - maxZ);
                acc[0] += count * -((positive ? b : a) - maxZ - std::log(sum));
            });
    };
    const long double total = side(s.positive, true)[0] + side(s.negative, false)[0];
    const auto n = static_cast<long double>(s.positive.size() + s.negative.size());
    return static_cast<double>(total / n);
}

double fitTemperature(const SortedScores &s)
{
    return minimiseOverInverseTemperature([&](double beta) { return nllDerivatives(s, beta); });
}

// One of the four monotone runs of confidences (ascending).
struct ConfidenceRun
{
    std::span<const std::uint64_t> keys; // a contiguous range of one sorted array
    bool below = false;                  // scores below the threshold: conf = 1 - s, walked down
    bool correct = false;                // every row of this run is predicted right
    std::size_t at = 0;

    bool done() const { return at == keys.size(); }
    double value() const
    {
        const double s = fromOrderedKey(below ? keys[keys.size() - 1 - at] : keys[at]);
        return below ? 1 - s : s;
    }
};

// A cut inside a run of equal confidences that mixes right and wrong rows:
// how many of the first `k` rows (row order) with confidence `value` are right.
struct CutRequest
{
    double value;
    std::uint64_t k;
};

// Adaptive ECE over the merged runs. `cuts` answers the requests by
// (value, k); when an answer is missing the request is recorded instead and
// the result is not final (returns nullopt).
std::optional<double>
adaptiveEce(std::array<ConfidenceRun, 4> runs, std::size_t n, int bins,
            const std::map<std::pair<double, std::uint64_t>, std::uint64_t> &cuts,
            std::vector<CutRequest> &requests)
{
    const std::size_t B = static_cast<std::size_t>(bins);
    const std::size_t base = n / B, extra = n % B;
    std::size_t bin = 0, binEnd = base + (0 < extra ? 1 : 0), position = 0;
    while (bin < B && binEnd == position) { // empty bins (n < B)
        ++bin;
        binEnd += base + (bin < extra ? 1 : 0);
    }
    long double sc = 0, sa = 0;
    double result = 0;
    bool complete = true;
    auto closeBin = [&] {
        const std::size_t size = base + (bin < extra ? 1 : 0);
        const double gap =
            std::fabs(static_cast<double>(sa / size) - static_cast<double>(sc / size));
        result += static_cast<double>(size) / static_cast<double>(n) * gap;
        sc = sa = 0;
        ++bin;
        if (bin < B)
            binEnd += base + (bin < extra ? 1 : 0);
    };
    while (true) {
        double v = std::numeric_limits<double>::infinity();
        for (const auto &r : runs)
            if (!r.done())
                v = std::min(v, r.value());
        if (std::isinf(v))
            break;
        std::uint64_t count = 0, right = 0;
        for (auto &r : runs)
            while (!r.done() && r.value() == v) {
                ++count;
                right += r.correct;
                ++r.at;
            }
        const bool mixed = right != 0 && right != count;
        // Rows [position, position + count) of the sorted order.
        std::uint64_t doneInGroup = 0, rightBefore = 0;
        while (doneInGroup < count) {
            const std::uint64_t take =
                std::min<std::uint64_t>(count - doneInGroup, binEnd - position);
            const std::uint64_t k = doneInGroup + take;
            std::uint64_t rightUpTo = right;
            if (k < count) {
                if (!mixed)
                    rightUpTo = right == 0 ? 0 : k;
                else if (auto it = cuts.find({v, k}); it != cuts.end())
                    rightUpTo = it->second;
                else {
                    requests.push_back({v, k});
                    complete = false;
                    rightUpTo = 0;
                }
            }
            for (std::uint64_t t = 0; t < take; ++t)
                sc += v;
            sa += static_cast<long double>(rightUpTo - rightBefore);
            rightBefore = rightUpTo;
            doneInGroup = k;
            position += take;
            if (position == binEnd)
                closeBin();
        }
    }
    if (!complete)
        return std::nullopt;
    return result;
}

} // namespace

Result<EvalReport> evaluateCsv(const std::filesystem::path &path, const EvalSpec &spec,
                               const CsvOptions &csv, const CancelToken *cancel,
                               const ProgressFn &progress)
{
    auto inMemory = [&]() -> Result<EvalReport> {
        SB_ASSIGN_OR_RETURN(Table table, readCsv(path, csv, cancel, progress));
        return evaluate(table, spec, cancel);
    };
    if (!streamable(spec))
        return inMemory();
    std::vector<GateSpec> gates;
    for (const auto &g : spec.gates) {
        SB_ASSIGN_OR_RETURN(GateSpec parsed, parseGate(g));
        gates.push_back(std::move(parsed));
    }
    // Only the label and score columns are converted (and diagnosed).
    CsvOptions used = csv;
    {
        SB_ASSIGN_OR_RETURN(CsvReader header, CsvReader::open(path, csv));
        if (header.columnIndex(spec.label) < 0 || header.columnIndex(spec.score) < 0)
            return inMemory(); // reports the missing column as evaluate() does
        used.columns = {spec.label};
        if (spec.score != spec.label)
            used.columns.push_back(spec.score);
    }
    SB_ASSIGN_OR_RETURN(TypedCsvReader reader, TypedCsvReader::open(path, used));
    int labelIndex = -1, scoreIndex = -1;
    for (std::size_t c = 0; c < reader.schema().size(); ++c) {
        if (reader.schema()[c].first == spec.label)
            labelIndex = static_cast<int>(c);
        if (reader.schema()[c].first == spec.score)
            scoreIndex = static_cast<int>(c);
    }
    if (labelIndex < 0 || scoreIndex < 0 ||
        reader.schema()[static_cast<std::size_t>(scoreIndex)].second != ColumnType::Numerical)
        return inMemory(); // reports the problem as evaluate() does

    Pass1 state;
    state.bins.emplace(unitEdges(spec.bins));
    const double threshold = spec.threshold;
    std::vector<int> ids;
    std::vector<double> nllPositive, nllNegative;
    Table chunk;
    while (true) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, reader.raw().fileName() + ": reading cancelled");
        SB_ASSIGN_OR_RETURN(bool more, reader.next(chunk));
        if (!more)
            break;
        const Column &label = chunk.columns[static_cast<std::size_t>(labelIndex)];
        const std::vector<double> &score =
            chunk.columns[static_cast<std::size_t>(scoreIndex)].numbers;
        if (!labelIds(label, state.labelTexts, state.idOfValue, true, ids))
            return inMemory(); // more than two labels: evaluate() reports it
        // Each label's part of this chunk, allocated at its exact size.
        std::array<std::vector<std::uint64_t>, 2> part;
        {
            std::array<std::size_t, 2> sizes{};
            for (std::size_t r = 0; r < chunk.rows; ++r)
                if (ids[r] >= 0 && std::isfinite(score[r]))
                    ++sizes[static_cast<std::size_t>(ids[r])];
            part[0].reserve(sizes[0]);
            part[1].reserve(sizes[1]);
        }
        // The row's log-loss terms as logLoss() computes them, for the
        // label being positive and negative: computed on all threads, summed
        // below in row order (the same sums as one thread).
        nllPositive.resize(chunk.rows);
        nllNegative.resize(chunk.rows);
        constexpr std::size_t kBlock = std::size_t(1) << 16;
        parallelFor((chunk.rows + kBlock - 1) / kBlock, 0, [&](std::size_t b) {
            const std::size_t end = std::min(chunk.rows, (b + 1) * kBlock);
            for (std::size_t r = b * kBlock; r < end; ++r) {
                const double p = std::clamp(score[r], kEps, 1 - kEps);
                const double pPos = p, pNeg = 1 - p, sum = pNeg + pPos;
                nllPositive[r] = -std::log(pPos / sum);
                nllNegative[r] = -std::log(pNeg / sum);
            }
        });
        for (std::size_t r = 0; r < chunk.rows; ++r) {
            const double s = score[r];
            if (ids[r] < 0 || !std::isfinite(s)) {
                ++state.dropped;
                continue;
            }
            const int id = ids[r];
            const bool predictedPositive = s >= threshold;
            ++state.confusion[static_cast<std::size_t>(id)][predictedPositive];
            part[static_cast<std::size_t>(id)].push_back(orderedKey(s));
            // As logLoss()/brierScore()/binConfidences() per row, for either
            // label being the positive one.
            for (int slot = 0; slot < 2; ++slot) {
                const bool isPositive = id == slot;
                state.logLoss[static_cast<std::size_t>(slot)] +=
                    isPositive ? nllPositive[r] : nllNegative[r];
                const double d = (isPositive ? 1.0 : 0.0) - s;
                state.brier[static_cast<std::size_t>(slot)] += d * d;
            }
            state.bins->add(predictedPositive ? s : 1 - s, (id == 0) == predictedPositive);
            ++state.rows;
        }
        for (std::size_t id = 0; id < 2; ++id)
            if (!part[id].empty())
                state.keys[id].parts.push_back(std::move(part[id]));
        if (progress && reader.raw().fileSize() > 0)
            progress(0.9 * static_cast<double>(reader.raw().bytesConsumed()) /
                         static_cast<double>(reader.raw().fileSize()),
                     "reading " + reader.raw().fileName() + ": " +
                         std::to_string(state.rows + state.dropped) + " rows");
    }

    // Labels as prepare() orders them; the positive one's slot.
    std::set<std::string> labelSet(state.labelTexts.begin(), state.labelTexts.end());
    if (!spec.positive.empty())
        labelSet.insert(spec.positive);
    if (labelSet.size() != 2 || state.rows == 0)
        return inMemory(); // evaluate() reports the problem
    const std::vector<std::string> labels = sortEvaluationLabels(labelSet);
    const std::string positive = spec.positive.empty() ? labels[1] : spec.positive;
    auto indexOf = [&](const std::string &text) {
        return static_cast<std::size_t>(std::find(labels.begin(), labels.end(), text) -
                                        labels.begin());
    };
    // Slot of the positive label: its id, or the unused id when no row has it.
    std::size_t slot = 1;
    for (std::size_t id = 0; id < state.labelTexts.size(); ++id)
        if (state.labelTexts[id] == positive)
            slot = id;
    if (state.labelTexts.size() == 2 && state.labelTexts[slot] != positive)
        return inMemory();
    const std::size_t positiveIndex = indexOf(positive), negativeIndex = 1 - positiveIndex;

    ClassificationMetrics m;
    m.rows = state.rows;
    m.confusion.assign(2, std::vector<std::uint64_t>(2, 0));
    for (std::size_t id = 0; id < state.labelTexts.size(); ++id)
        for (int predictedPositive = 0; predictedPositive < 2; ++predictedPositive)
            m.confusion[indexOf(state.labelTexts[id])]
                       [predictedPositive ? positiveIndex : negativeIndex] +=
                state.confusion[id][static_cast<std::size_t>(predictedPositive)];
    fillConfusionMetrics(m, labels);
    const auto n = static_cast<long double>(state.rows);
    m.logLoss = static_cast<double>(state.logLoss[slot] / n);
    m.brier = static_cast<double>(state.brier[slot] / n);
    Calibration cal;
    cal.bins = state.bins->bins(slot == 1);
    calibrationErrors(cal.bins, state.rows, cal.ece, cal.mce);
    m.ece = cal.ece;
    m.mce = cal.mce;

    if (progress)
        progress(0.9, "sorting scores");
    SortedScores sorted;
    sorted.positive = state.keys[slot].takeSorted();
    sorted.negative = state.keys[1 - slot].takeSorted();
    std::tie(m.rocAuc, m.averagePrecision) = binaryRocAucAndAp(sorted.positive, sorted.negative);

    // Adaptive ECE: runs of ascending confidence (see the file comment).
    const std::uint64_t thresholdKey = orderedKey(threshold);
    auto split = [&](const std::vector<std::uint64_t> &keys) {
        const auto at = static_cast<std::size_t>(
            std::lower_bound(keys.begin(), keys.end(), thresholdKey) - keys.begin());
        return std::pair{std::span<const std::uint64_t>(keys.data(), at),
                         std::span<const std::uint64_t>(keys.data() + at, keys.size() - at)};
    };
    auto [positiveBelow, positiveAbove] = split(sorted.positive);
    auto [negativeBelow, negativeAbove] = split(sorted.negative);
    const std::array<ConfidenceRun, 4> runs = {
        ConfidenceRun{positiveAbove, false, true}, ConfidenceRun{positiveBelow, true, false},
        ConfidenceRun{negativeAbove, false, false}, ConfidenceRun{negativeBelow, true, true}};
    std::map<std::pair<double, std::uint64_t>, std::uint64_t> cuts;
    std::vector<CutRequest> requests;
    std::optional<double> adaptive = adaptiveEce(runs, state.rows, spec.bins, cuts, requests);
    if (!adaptive) {
        // Second pass (label and score only): right rows among the first k
        // of each requested confidence, in row order.
        if (progress)
            progress(0.93, "equal-mass bins: second pass");
        std::map<double, std::vector<std::uint64_t>> wanted;
        for (const auto &r : requests)
            wanted[r.value].push_back(r.k);
        std::map<double, std::pair<std::uint64_t, std::uint64_t>> seen; // value -> (rows, right)
        SB_ASSIGN_OR_RETURN(TypedCsvReader again, TypedCsvReader::open(path, used));
        std::unordered_map<std::uint64_t, int> againIds;
        while (true) {
            if (cancel && cancel->isCancelled())
                return makeError(ErrorCode::Cancelled,
                                 again.raw().fileName() + ": reading cancelled");
            SB_ASSIGN_OR_RETURN(bool more, again.next(chunk));
            if (!more)
                break;
            const Column &label = chunk.columns[static_cast<std::size_t>(labelIndex)];
            const std::vector<double> &score =
                chunk.columns[static_cast<std::size_t>(scoreIndex)].numbers;
            if (!labelIds(label, state.labelTexts, againIds, false, ids))
                return makeError(ErrorCode::Internal, "evaluateCsv: labels changed between passes");
            for (std::size_t r = 0; r < chunk.rows; ++r) {
                const double s = score[r];
                if (ids[r] < 0 || !std::isfinite(s))
                    continue;
                const bool predictedPositive = s >= threshold;
                const double conf = predictedPositive ? s : 1 - s;
                auto it = wanted.find(conf);
                if (it == wanted.end())
                    continue;
                auto &[rows, right] = seen[conf];
                ++rows;
                right += (static_cast<std::size_t>(ids[r]) == slot) == predictedPositive;
                for (std::uint64_t k : it->second)
                    if (k == rows)
                        cuts[{conf, k}] = right;
            }
        }
        requests.clear();
        adaptive = adaptiveEce(runs, state.rows, spec.bins, cuts, requests);
        if (!adaptive)
            return makeError(ErrorCode::Internal, "evaluateCsv: equal-mass bins unresolved");
    }
    cal.adaptiveEce = *adaptive;

    if (progress)
        progress(0.95, "temperature scaling");
    cal.temperature = fitTemperature(sorted);
    cal.nllBefore = scaledNll(sorted, 1.0);
    cal.nllAfter = scaledNll(sorted, cal.temperature);
    {
        // Confidences after scaling (predictions unchanged), per run of equal scores.
        BinSums after(unitEdges(spec.bins));
        auto add = [&](std::span<const std::uint64_t> keys, bool positiveRows) {
            for (std::size_t i = 0; i < keys.size();) {
                std::size_t j = i + 1;
                while (j < keys.size() && keys[j] == keys[i])
                    ++j;
                const double s = fromOrderedKey(keys[i]);
                const Logits z = logitsOf(s);
                const double a = z.negative / cal.temperature, b = z.positive / cal.temperature;
                const double maxZ = std::max(a, b);
                const double ea = std::exp(a - maxZ), eb = std::exp(b - maxZ);
                const double sum = ea + eb;
                const bool predictedPositive = s >= threshold;
                const double conf = predictedPositive ? eb / sum : ea / sum;
                const std::uint64_t count = j - i;
                after.addMany(conf, count, positiveRows == predictedPositive ? count : 0);
                i = j;
            }
        };
        add(sorted.positive, true);
        add(sorted.negative, false);
        cal.binsAfterTemperature = after.bins();
        double mceAfter = 0;
        calibrationErrors(cal.binsAfterTemperature, state.rows, cal.eceAfterTemperature, mceAfter);
    }

    json out;
    out["file"] = reader.raw().fileName();
    out["rows"] = state.rows;
    out["dropped_rows"] = state.dropped;
    out["task"] = "classification";
    out["label"] = spec.label;
    const json overall = classificationReportJson(m, labels, &cal, spec, out);
    out["ci"] = nullptr;
    out["bootstrap"] = json{{"resamples", spec.bootstrap},
                            {"seed", spec.seed},
                            {"confidence", 0.95},
                            {"method", "percentile"}};
    out["slices"] = json::array();
    out["auto_slices"] = json::array();
    SB_ASSIGN_OR_RETURN(EvalReport report,
                        finishReport(std::move(out), overall, {}, gates, reader.diagnostics()));
    if (progress)
        progress(1.0, "done");
    return report;
}

} // namespace sb::eval
