#include "core/eval/privacy.h"

#include "core/eval/evaluation.h"
#include "core/eval/metrics.h"
#include "core/eval/poisoning.h"
#include "core/eval/slices.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <set>

namespace sb::eval {

namespace {

using nlohmann::json;

Error inputError(std::string message)
{
    return makeError(ErrorCode::InvalidInput, std::move(message));
}

Result<std::vector<int>> labelIndices(const Table &table, const std::string &label,
                                      const std::vector<std::string> &classes)
{
    const Column *column = table.column(label);
    if (!column)
        return inputError(table.fileName + ": no column '" + label + "' (--label)");
    std::vector<int> out(table.rows, -1);
    for (std::size_t r = 0; r < table.rows; ++r) {
        if (column->isMissing(r))
            continue;
        out[r] = classIndex(classes, column->text(r));
        if (out[r] < 0) {
            std::string list;
            for (const auto &c : classes)
                list += (list.empty() ? "" : ", ") + c;
            return inputError(table.fileName + ":" +
                              std::to_string(r < table.lines.size() ? table.lines[r] : 0) +
                              ": column '" + label + "': label '" + column->text(r) +
                              "' is not one of the model's classes (" + list + ")");
        }
    }
    return out;
}

// Attack scores of one attack for every row of both sets (members first).
struct AttackData
{
    std::vector<double> loss, confidence;
    std::vector<char> member;
    std::vector<const MembershipScores *> set; // per row
    std::vector<std::size_t> setRow;           // row within its set
};

void addRows(AttackData &data, const MembershipScores &s, bool member)
{
    const std::size_t K = s.classes.size();
    for (std::size_t r = 0; r < s.rows(); ++r) {
        if (s.label[r] < 0)
            continue;
        double top = 0;
        for (std::size_t k = 0; k < K; ++k) {
            const double p = s.proba[r * K + k];
            if (!std::isnan(p))
                top = std::max(top, p);
        }
        double py = s.proba[r * K + static_cast<std::size_t>(s.label[r])];
        if (std::isnan(py))
            py = 0;
        data.loss.push_back(std::log(std::max(py, DBL_EPSILON))); // = -loss
        data.confidence.push_back(top);
        data.member.push_back(member ? 1 : 0);
        data.set.push_back(&s);
        data.setRow.push_back(r);
    }
}

struct AttackResult
{
    double auc = NAN, advantage = NAN, threshold = NAN, tpr = NAN, fpr = NAN;
    RocCurve roc;
};

AttackResult attack(std::span<const double> scores, std::span<const char> member)
{
    AttackResult out;
    out.auc = binaryRocAuc(scores, member);
    out.roc = binaryRocCurve(scores, member);
    double best = -INFINITY;
    for (std::size_t i = 0; i < out.roc.fpr.size(); ++i) {
        const double adv = out.roc.tpr[i] - out.roc.fpr[i];
        if (adv > best) {
            best = adv;
            out.threshold = out.roc.thresholds[i];
            out.tpr = out.roc.tpr[i];
            out.fpr = out.roc.fpr[i];
        }
    }
    out.advantage = std::isfinite(best) ? best : NAN;
    return out;
}

std::vector<double> gather(const std::vector<double> &values, std::span<const RowIndex> rows)
{
    std::vector<double> out;
    out.reserve(rows.size());
    for (RowIndex r : rows)
        out.push_back(values[r]);
    return out;
}

std::vector<char> gather(const std::vector<char> &values, std::span<const RowIndex> rows)
{
    std::vector<char> out;
    out.reserve(rows.size());
    for (RowIndex r : rows)
        out.push_back(values[r]);
    return out;
}

json rocJson(const RocCurve &roc)
{
    // At most ~201 points: every step-th point plus the last.
    json fpr = json::array(), tpr = json::array();
    const std::size_t n = roc.fpr.size();
    const std::size_t step = std::max<std::size_t>(1, (n + 199) / 200);
    for (std::size_t i = 0; i < n; i += step) {
        fpr.push_back(roc.fpr[i]);
        tpr.push_back(roc.tpr[i]);
    }
    if (n && (n - 1) % step != 0) {
        fpr.push_back(roc.fpr[n - 1]);
        tpr.push_back(roc.tpr[n - 1]);
    }
    return json{{"fpr", fpr}, {"tpr", tpr}};
}

// Smallest number of decimals that writes `v` exactly (17 = needs all).
int decimalsOf(double v)
{
    char buffer[64];
    for (int d = 0; d <= 17; ++d) {
        std::snprintf(buffer, sizeof buffer, "%.*f", d, v);
        double back = 0;
        if (parseCsvNumber(buffer, back) && back == v)
            return d;
    }
    return 17;
}

json exposureJson(const MembershipScores &a, const MembershipScores &b)
{
    const std::size_t K = a.classes.size();
    std::size_t rows = 0, full = 0, values = 0, normalised = 0;
    int decimals = 0;
    std::set<double> distinctTop;
    for (const MembershipScores *s : {&a, &b}) {
        for (std::size_t r = 0; r < s->rows(); ++r) {
            ++rows;
            std::size_t present = 0;
            double sum = 0, top = 0;
            for (std::size_t k = 0; k < K; ++k) {
                const double p = s->proba[r * K + k];
                if (std::isnan(p))
                    continue;
                ++present;
                sum += p;
                top = std::max(top, p);
                if (!s->float32)
                    decimals = std::max(decimals, decimalsOf(p));
            }
            values += present;
            full += present == K;
            normalised += present == K && std::fabs(sum - 1.0) <= 1e-3;
            distinctTop.insert(top);
        }
    }
    const double perRow = rows ? double(values) / double(rows) : 0.0;
    std::string outputs = full == rows    ? "full_probabilities"
                          : perRow <= 1.0 ? "top_1_confidence"
                                          : "top_k_probabilities";
    json out{{"outputs", outputs},
             {"classes", K},
             {"values_per_row", perRow},
             {"rows_with_full_vector", full},
             {"rows_summing_to_one", normalised},
             {"distinct_top_confidences", distinctTop.size()},
             {"rows", rows}};
    std::string precision;
    if (a.float32) {
        out["number_format"] = "float32";
        out["decimals"] = nullptr;
        precision = "float32 values (about 7 significant digits)";
    } else {
        out["number_format"] = "decimal text";
        out["decimals"] = decimals;
        precision = decimals >= 15
                        ? "full double precision (" + std::to_string(decimals) + " decimals)"
                        : std::to_string(decimals) + " decimals";
    }
    std::string reading =
        "Callers receive " +
        (outputs == "full_probabilities"
             ? "the full probability vector over " + std::to_string(K) + " classes"
         : outputs == "top_1_confidence" ? std::string("only the top-class confidence")
                                         : "top-k probabilities (" + formatNumber(perRow) + " of " +
                                               std::to_string(K) + " per row on average)") +
        " at " + precision + "; " + std::to_string(distinctTop.size()) +
        " distinct top-class confidences over " + std::to_string(rows) + " rows. ";
    if (outputs == "full_probabilities" && (a.float32 || decimals > 3))
        reading += "This is the most an inversion or membership attacker can get from the "
                   "outputs: fine-grained confidences let them follow gradients of the "
                   "confidence towards a class's typical input. Returning labels only, or "
                   "the top class rounded to 1-2 decimals, removes most of that signal.";
    else
        reading += "Coarser outputs leave an inversion attacker less signal than full, "
                   "high-precision probability vectors; no inversion attack was run.";
    out["reading"] = reading;
    return out;
}

std::string readingFor(const std::string &name, double auc, const json &ci, double adv)
{
    char buffer[512];
    const double lo = ci.is_array() && ci[0].is_number() ? ci[0].get<double>() : NAN;
    const double hi = ci.is_array() && ci[1].is_number() ? ci[1].get<double>() : NAN;
    const char *level = !std::isfinite(auc) ? "undefined"
                        : auc < 0.55        ? "close to chance (0.5): little membership leakage"
                        : auc < 0.6         ? "slightly above chance: weak membership leakage"
                        : auc < 0.7         ? "clearly above chance: moderate membership leakage"
                                            : "far above chance: strong membership leakage, "
                                              "typical of a model that memorised its training data";
    std::snprintf(buffer, sizeof buffer,
                  "%s attack: AUC %.3f [%.3f, %.3f], %s. Advantage %.3f: at the best threshold "
                  "the attack flags training rows %.1f percentage points more often than "
                  "held-out rows (0 = no advantage; a differentially private model with "
                  "epsilon e bounds it by exp(e) - 1).",
                  name.c_str(), auc, lo, hi, level, adv, adv * 100.0);
    return buffer;
}

} // namespace

Result<MembershipScores> membershipFromPredictions(const Table &table, const Predictions &pred,
                                                   const std::string &label)
{
    MembershipScores s;
    s.table = &table;
    s.classes = pred.labels;
    s.proba = pred.proba;
    s.float32 = true;
    s.origin = "model output '" + pred.outputName + "' (float32)";
    SB_ASSIGN_OR_RETURN(s.label, labelIndices(table, label, s.classes));
    return s;
}

Result<MembershipScores> membershipFromColumns(const Table &table, const std::string &probaPrefix,
                                               const std::string &label)
{
    MembershipScores s;
    s.table = &table;
    std::vector<const Column *> columns;
    for (const Column &c : table.columns)
        if (c.name.rfind(probaPrefix, 0) == 0 && c.name.size() > probaPrefix.size()) {
            if (c.type != ColumnType::Numerical)
                return inputError(table.fileName + ": probability column '" + c.name +
                                  "' is not numerical");
            s.classes.push_back(c.name.substr(probaPrefix.size()));
            columns.push_back(&c);
        }
    if (s.classes.size() < 2)
        return inputError(table.fileName + ": --proba-prefix '" + probaPrefix + "' matches " +
                          std::to_string(s.classes.size()) +
                          " column(s); give one probability column per class");
    s.proba.resize(table.rows * s.classes.size());
    for (std::size_t r = 0; r < table.rows; ++r)
        for (std::size_t k = 0; k < columns.size(); ++k)
            s.proba[r * columns.size() + k] = columns[k]->numbers[r];
    s.origin = "columns " + probaPrefix + "*";
    SB_ASSIGN_OR_RETURN(s.label, labelIndices(table, label, s.classes));
    return s;
}

Result<json> membershipInference(const MembershipScores &members,
                                 const MembershipScores &nonMembers, const PrivacyOptions &options,
                                 const CancelToken *cancel)
{
    if (members.classes != nonMembers.classes)
        return inputError("the training and held-out scores have different classes");
    if (options.bootstrap < 0)
        return inputError("--bootstrap must be >= 0");
    AttackData data;
    addRows(data, members, true);
    addRows(data, nonMembers, false);
    const std::size_t nMembers =
        static_cast<std::size_t>(std::count(data.member.begin(), data.member.end(), 1));
    const std::size_t nNon = data.member.size() - nMembers;
    if (nMembers == 0 || nNon == 0)
        return inputError(std::string("membership inference needs labelled rows in both sets (") +
                          std::to_string(nMembers) + " training, " + std::to_string(nNon) +
                          " held-out)");

    auto attacksOn = [&](std::span<const RowIndex> rows) {
        const std::vector<char> m = gather(data.member, rows);
        const std::vector<double> loss = gather(data.loss, rows);
        const std::vector<double> conf = gather(data.confidence, rows);
        return std::pair{attack(loss, m), attack(conf, m)};
    };
    const std::vector<RowIndex> all = allRows(data.member.size());
    auto [lossAttack, confAttack] = attacksOn(all);

    std::vector<Interval> intervals(4);
    if (options.bootstrap > 0) {
        BootstrapOptions bo;
        bo.resamples = options.bootstrap;
        bo.seed = options.seed;
        bo.confidence = options.confidence;
        bo.threads = options.threads;
        MetricFn fn = [&](std::span<const RowIndex> rows) {
            auto [l, c] = attacksOn(rows);
            return std::vector<double>{l.auc, l.advantage, c.auc, c.advantage};
        };
        SB_ASSIGN_OR_RETURN(intervals, bootstrap(all, 4, fn, bo, cancel));
    }
    auto ci = [&](std::size_t i) -> json {
        if (options.bootstrap == 0)
            return nullptr;
        return json::array({jsonNumber(intervals[i].lower), jsonNumber(intervals[i].upper)});
    };
    auto attackJson = [&](const char *name, const char *score, const char *reference,
                          const AttackResult &a, std::size_t ciIndex) {
        return json{{"name", name},
                    {"score", score},
                    {"reference", reference},
                    {"auc", jsonNumber(a.auc)},
                    {"auc_ci", ci(ciIndex)},
                    {"advantage", jsonNumber(a.advantage)},
                    {"advantage_ci", ci(ciIndex + 1)},
                    {"threshold", jsonNumber(a.threshold)},
                    {"tpr", jsonNumber(a.tpr)},
                    {"fpr", jsonNumber(a.fpr)},
                    {"roc", rocJson(a.roc)}};
    };
    json attacks =
        json::array({attackJson("loss_threshold", "-cross-entropy loss of the true label (ln p_y)",
                                "Yeom et al. 2018", lossAttack, 0),
                     attackJson("confidence_threshold", "top-class probability",
                                "confidence thresholding", confAttack, 2)});
    const double miaAuc = std::max(lossAttack.auc, confAttack.auc);
    const double miaAdv = std::max(lossAttack.advantage, confAttack.advantage);

    // Slices: rows of each set matching the slice.
    json slices = json::array();
    for (const std::string &text : options.slices) {
        SB_ASSIGN_OR_RETURN(SliceSpec slice, parseSlice(text));
        std::vector<RowIndex> rows;
        for (const MembershipScores *s : {&members, &nonMembers}) {
            std::vector<RowIndex> candidates = allRows(s->rows());
            SB_ASSIGN_OR_RETURN(std::vector<RowIndex> matched,
                                selectRows(*s->table, slice, candidates));
            std::set<RowIndex> in(matched.begin(), matched.end());
            for (std::size_t i = 0; i < data.set.size(); ++i)
                if (data.set[i] == s && in.count(static_cast<RowIndex>(data.setRow[i])))
                    rows.push_back(static_cast<RowIndex>(i));
        }
        std::size_t m = 0;
        for (RowIndex r : rows)
            m += data.member[r];
        auto [l, c] = attacksOn(rows);
        slices.push_back(
            json{{"name", slice.name},
                 {"expr", slice.expr},
                 {"members", m},
                 {"non_members", rows.size() - m},
                 {"attacks", json::array({json{{"name", "loss_threshold"},
                                               {"auc", jsonNumber(l.auc)},
                                               {"advantage", jsonNumber(l.advantage)}},
                                          json{{"name", "confidence_threshold"},
                                               {"auc", jsonNumber(c.auc)},
                                               {"advantage", jsonNumber(c.advantage)}}})},
                 {"mia_auc", jsonNumber(std::max(l.auc, c.auc))},
                 {"mia_advantage", jsonNumber(std::max(l.advantage, c.advantage))}});
    }

    json reading = json::array(
        {readingFor("Loss-threshold (Yeom et al. 2018)", lossAttack.auc, ci(0),
                    lossAttack.advantage),
         readingFor("Confidence-threshold", confAttack.auc, ci(2), confAttack.advantage),
         "Both attacks only see the model's outputs; stronger attacks (shadow models, LiRA) "
         "can do better, so treat these figures as a lower bound on the risk."});
    return json{{"members", nMembers},
                {"non_members", nNon},
                {"member_source", members.table ? members.table->fileName : ""},
                {"non_member_source", nonMembers.table ? nonMembers.table->fileName : ""},
                {"scores", members.origin},
                {"classes", members.classes},
                {"attacks", attacks},
                {"mia_auc", jsonNumber(miaAuc)},
                {"mia_advantage", jsonNumber(miaAdv)},
                {"bootstrap", json{{"resamples", options.bootstrap},
                                   {"confidence", options.confidence},
                                   {"seed", options.seed}}},
                {"slices", slices},
                {"model_inversion", exposureJson(members, nonMembers)},
                {"reading", reading}};
}

} // namespace sb::eval
