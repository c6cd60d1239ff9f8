#include "core/eval/robustness.h"

#include "core/eval/metric_definitions.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace sb::eval {

namespace {

using nlohmann::json;

Error inputError(std::string message)
{
    return makeError(ErrorCode::InvalidInput, std::move(message));
}

const std::vector<std::string> &tabularNames()
{
    static const std::vector<std::string> names{"noise", "dropout", "missing", "shift"};
    return names;
}

const std::vector<std::string> &imageNames()
{
    static const std::vector<std::string> names{"image_noise", "brightness", "contrast",
                                                "translate"};
    return names;
}

std::string describe(const std::string &name)
{
    static const std::map<std::string, std::string> text{
        {"noise", "Gaussian noise, sigma = S x the feature's standard deviation"},
        {"dropout", "each value replaced with probability S by the feature's mean (mode for "
                    "integer features with <= 20 values)"},
        {"missing", "each value missing (NaN) with probability S"},
        {"shift", "one feature at a time shifted by +-S standard deviations"},
        {"image_noise", "Gaussian pixel noise, sigma = S x the pixel standard deviation"},
        {"brightness", "every pixel + S x (max - min)"},
        {"contrast", "per image: mean + (x - mean) x (1 - S)"},
        {"translate", "shift by round(S) pixels right and down, edges repeated"}};
    auto it = text.find(name);
    return it == text.end() ? std::string() : it->second;
}

std::uint64_t splitmix64(std::uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::mt19937_64 rngFor(std::uint64_t seed, const std::string &name, std::size_t index)
{
    std::uint64_t h = 1469598103934665603ULL; // FNV-1a of the name
    for (unsigned char c : name)
        h = (h ^ c) * 1099511628211ULL;
    return std::mt19937_64(splitmix64(seed ^ splitmix64(h + index)));
}

// Evaluates predictions the way `eval --model` does: the prediction columns
// appended to the data, then evaluate() with the bootstrap off.
class PointEvaluator
{
public:
    PointEvaluator(const Table &table, EvalSpec spec) : m_spec(std::move(spec))
    {
        m_base.fileName = table.fileName;
        m_base.rows = table.rows;
        m_base.lines = table.lines;
        for (const Column &c : table.columns)
            if (c.name != "prediction" && c.name.rfind("proba_", 0) != 0)
                m_base.columns.push_back(c);
        m_spec.bootstrap = 0;
        m_spec.autoSlices = false;
        m_spec.gates.clear();
        m_spec.score.clear();
        m_spec.probaPrefix.clear();
        m_spec.pred.clear();
        m_spec.task = "classification";
    }

    Result<json> evaluate(const Predictions &predictions, const CancelToken *cancel)
    {
        EvalSpec spec = m_spec;
        std::vector<std::string> added;
        if (predictions.labels.size() == 2) {
            const std::string positive = spec.positive.empty() ? "1" : spec.positive;
            if (positive != "0" && positive != "1")
                return inputError("--positive " + positive + ": the model's labels are 0 and 1");
            spec.score = "proba_" + positive;
            added.push_back(spec.score);
        } else {
            spec.probaPrefix = "proba_";
            for (const std::string &label : predictions.labels)
                added.push_back("proba_" + label);
        }
        Table table = m_base;
        SB_TRY(appendPredictionColumns(table, predictions, added));
        SB_ASSIGN_OR_RETURN(EvalReport report, sb::eval::evaluate(table, spec, cancel));
        json slices = json::array();
        for (const json &s : report.json.value("slices", json::array()))
            slices.push_back(
                json{{"name", s["name"]}, {"rows", s["rows"]}, {"metrics", s["metrics"]}});
        return json{{"metrics", report.json["overall"]}, {"slices", slices}};
    }

private:
    Table m_base;
    EvalSpec m_spec;
};

// Mean total-variation distance between the class distributions of two
// prediction sets of the same rows.
double meanProbaChange(const Predictions &a, const Predictions &b)
{
    if (a.rows == 0 || b.proba.size() != a.proba.size())
        return std::nan("");
    double sum = 0;
    for (std::size_t i = 0; i < a.proba.size(); ++i)
        sum += std::fabs(a.proba[i] - b.proba[i]);
    return 0.5 * sum / double(a.rows);
}

json dropJson(const json &baseline, const json &metrics)
{
    json drop = json::object();
    for (auto it = metrics.begin(); it != metrics.end(); ++it)
        if (it.value().is_number() && baseline.contains(it.key()) && baseline[it.key()].is_number())
            drop[it.key()] = baseline[it.key()].get<double>() - it.value().get<double>();
    return drop;
}

// A metric a robustness gate names: "METRIC[_drop]@NAME STRENGTH".
struct GateTarget
{
    std::string metric;
    bool drop = false;
    std::string perturbation;
    double strength = 0;
};

Result<GateTarget> parseGateMetric(const std::string &name)
{
    GateTarget target;
    const std::size_t at = name.find('@');
    const std::string usage = "'" + name +
                              "' is not METRIC[_drop]@NAME STRENGTH (e.g. "
                              "\"accuracy_drop@noise0.1 <= 0.02\")";
    if (at == std::string::npos || at == 0)
        return inputError(usage);
    target.metric = name.substr(0, at);
    if (target.metric.size() > 5 && target.metric.ends_with("_drop")) {
        target.drop = true;
        target.metric.resize(target.metric.size() - 5);
    }
    const std::string where = name.substr(at + 1);
    std::size_t digits = where.find_first_of("0123456789.");
    if (digits == std::string::npos || digits == 0)
        return inputError(usage);
    target.perturbation = where.substr(0, digits);
    if (!parseCsvNumber(where.substr(digits), target.strength))
        return inputError(usage);
    return target;
}

// Checks a gate before the (long) run: it parses and every metric it names
// has the robustness form.
Status checkGate(const std::string &text)
{
    SB_ASSIGN_OR_RETURN(GateSpec gate, parseGate(text));
    for (const std::string &name : gate.rule.metricNames()) {
        Result<GateTarget> target = parseGateMetric(name);
        if (!target.ok())
            return inputError("gate '" + text + "': " + target.error().message);
    }
    return Status::success();
}

struct Stats
{
    double mean = 0, std = 0, fill = 0;
};

Stats featureStats(const std::vector<double> &values)
{
    Stats s;
    double sum = 0;
    std::size_t n = 0;
    std::map<double, std::size_t> counts;
    bool integers = true;
    for (double v : values) {
        if (std::isnan(v))
            continue;
        sum += v;
        ++n;
        if (integers) {
            if (v != std::floor(v) || !std::isfinite(v))
                integers = false;
            else if (++counts[v] && counts.size() > 20)
                integers = false;
        }
    }
    if (n == 0)
        return s;
    s.mean = sum / double(n);
    double ss = 0;
    for (double v : values)
        if (!std::isnan(v))
            ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / double(n));
    s.fill = s.mean;
    if (integers && !counts.empty()) {
        std::size_t best = 0;
        for (const auto &[value, count] : counts)
            if (count > best) {
                best = count;
                s.fill = value;
            }
    }
    return s;
}

// Shared by the tabular and image runs: the curves, gates and summary.
struct Collector
{
    json baselineMetrics;
    json curves = json::array();
    json perturbations = json::array();
    std::map<std::pair<std::string, double>, json> pointMetrics; // worst for shift

    void add(const std::string &name, double strength, const json &evaluated, double change)
    {
        json point{{"perturbation", name},
                   {"strength", strength},
                   {"metrics", evaluated["metrics"]},
                   {"drop", dropJson(baselineMetrics, evaluated["metrics"])},
                   {"mean_proba_change", jsonNumber(change)}};
        if (evaluated.contains("slices") && !evaluated["slices"].empty())
            point["slices"] = evaluated["slices"];
        pointMetrics[{name, strength}] = evaluated["metrics"];
        curves.push_back(std::move(point));
    }

    // Worst value of `metric` over shift points of one strength (either sign).
    void addShift(double strength, const json &metrics)
    {
        json &worst = pointMetrics[{"shift", strength}];
        if (!worst.is_object())
            worst = json::object();
        for (auto it = metrics.begin(); it != metrics.end(); ++it) {
            if (!it.value().is_number())
                continue;
            const double v = it.value().get<double>();
            if (!worst.contains(it.key()) || !worst[it.key()].is_number())
                worst[it.key()] = v;
            else {
                const double w = worst[it.key()].get<double>();
                worst[it.key()] = isErrorLike(it.key()) ? std::max(w, v) : std::min(w, v);
            }
        }
    }

    json summary() const
    {
        json out = json::object();
        for (const auto &[key, metrics] : pointMetrics) {
            if (key.second == 0 || !metrics.is_object())
                continue;
            const json drop = dropJson(baselineMetrics, metrics);
            for (auto it = drop.begin(); it != drop.end(); ++it)
                out[it.key() + "_drop_" + key.first + "_" + strengthKey(key.second)] = it.value();
        }
        return out;
    }

    // The value of one gate metric ("accuracy_drop@noise0.1").
    Result<double> gateMetric(const std::string &name) const
    {
        SB_ASSIGN_OR_RETURN(GateTarget target, parseGateMetric(name));
        const json *metrics = nullptr;
        std::string available;
        for (const auto &[key, m] : pointMetrics) {
            if (key.first == target.perturbation &&
                std::fabs(key.second - target.strength) <= 1e-12 * std::max(1.0, key.second))
                metrics = &m;
            available += (available.empty() ? "" : ", ") + key.first + formatNumber(key.second);
        }
        if (!metrics)
            return inputError("no run of " + target.perturbation + " at strength " +
                              formatNumber(target.strength) + " (runs: " + available + ")");
        if (!metrics->contains(target.metric))
            return inputError("unknown metric '" + target.metric + "'");
        const json &value = (*metrics)[target.metric];
        const json &base = baselineMetrics.value(target.metric, json());
        double v = value.is_number() ? value.get<double>() : std::nan("");
        if (target.drop)
            v = base.is_number() ? base.get<double>() - v : std::nan("");
        return v;
    }

    Result<std::vector<GateResult>> gates(const std::vector<std::string> &specs) const
    {
        std::vector<GateResult> results;
        for (const std::string &text : specs) {
            SB_ASSIGN_OR_RETURN(GateSpec gate, parseGate(text));
            Result<GateResult> result =
                evaluateGate(gate, [this](const std::string &name) { return gateMetric(name); });
            if (!result.ok())
                return inputError("gate '" + text + "': " + result.error().message);
            results.push_back(std::move(result).value());
        }
        return results;
    }
};

Result<RobustnessReport> finish(Collector &c, json out, const RobustnessOptions &options)
{
    out["baseline"] = json{{"metrics", c.baselineMetrics}};
    out["perturbations"] = c.perturbations;
    out["curves"] = c.curves;
    out["summary"] = c.summary();
    RobustnessReport report;
    SB_ASSIGN_OR_RETURN(report.gates, c.gates(options.gates));
    for (const GateResult &g : report.gates)
        report.gatesPassed = report.gatesPassed && g.passed;
    out["gates"] = gatesJson(report.gates);
    report.json = std::move(out);
    return report;
}

} // namespace

std::string strengthKey(double strength)
{
    std::string text = formatNumber(strength);
    std::replace(text.begin(), text.end(), '.', '_');
    std::replace(text.begin(), text.end(), '-', 'm');
    return text;
}

Result<std::vector<Perturbation>> parsePerturbations(const std::vector<std::string> &specs,
                                                     bool images)
{
    std::vector<std::string> list = specs;
    if (list.empty())
        list = images ? std::vector<std::string>{"image_noise:0.05,0.1,0.2", "brightness:0.1,0.2",
                                                 "contrast:0.25,0.5", "translate:1,2"}
                      : std::vector<std::string>{"noise:0.05,0.1,0.2,0.5", "dropout:0.1,0.25,0.5",
                                                 "missing:0.1,0.25", "shift:0.5,1"};
    const auto &known = images ? imageNames() : tabularNames();
    std::vector<Perturbation> out;
    for (const std::string &spec : list) {
        Perturbation p;
        const std::size_t colon = spec.find(':');
        p.name = spec.substr(0, colon);
        if (std::find(known.begin(), known.end(), p.name) == known.end()) {
            std::string names;
            for (const auto &n : known)
                names += (names.empty() ? "" : ", ") + n;
            return inputError("--perturb '" + spec + "': unknown perturbation '" + p.name +
                              "' for " + (images ? "image" : "tabular") + " data (" + names + ")");
        }
        for (const auto &q : out)
            if (q.name == p.name)
                return inputError("--perturb '" + spec + "': " + p.name + " given twice");
        p.strengths.push_back(0.0);
        if (colon != std::string::npos) {
            std::string rest = spec.substr(colon + 1);
            std::size_t begin = 0;
            while (begin <= rest.size()) {
                std::size_t end = rest.find(',', begin);
                if (end == std::string::npos)
                    end = rest.size();
                double s = 0;
                if (!parseCsvNumber(rest.substr(begin, end - begin), s) || !std::isfinite(s) ||
                    s < 0 || ((p.name == "dropout" || p.name == "missing") && s > 1))
                    return inputError("--perturb '" + spec + "': strength '" +
                                      rest.substr(begin, end - begin) + "' is not a number >= 0" +
                                      (p.name == "dropout" || p.name == "missing"
                                           ? std::string(" and <= 1 (a probability)")
                                           : std::string()));
                p.strengths.push_back(s);
                begin = end + 1;
            }
        } else {
            return inputError("--perturb '" + spec + "': give strengths, e.g. " + p.name +
                              ":0.1,0.2");
        }
        std::sort(p.strengths.begin(), p.strengths.end());
        p.strengths.erase(std::unique(p.strengths.begin(), p.strengths.end()), p.strengths.end());
        out.push_back(std::move(p));
    }
    return out;
}

bool graphHandlesMissing(const graph::Graph &graph, std::string *why)
{
    for (const graph::Node &node : graph.nodes()) {
        if (node.opType == "IsNaN" || (node.opType == "Imputer" && node.domain == "ai.onnx.ml")) {
            if (why)
                *why = "the graph handles missing values (" + node.opType + " node '" + node.name +
                       "')";
            return true;
        }
    }
    if (why)
        *why = "the model's graph has no missing-value handling (no IsNaN or ai.onnx.ml Imputer "
               "node): a missing input would flow into the arithmetic as NaN, so missing-value "
               "robustness does not apply; impute upstream and test that step instead";
    return false;
}

Result<RobustnessReport> runRobustness(const Table &table, const ModelRunner &model,
                                       const RobustnessOptions &options, const CancelToken *cancel,
                                       const ProgressFn &progress)
{
    SB_ASSIGN_OR_RETURN(std::vector<Perturbation> perturbations,
                        parsePerturbations(options.perturbations, false));
    for (const std::string &g : options.gates)
        SB_TRY(checkGate(g));
    SB_ASSIGN_OR_RETURN(std::vector<std::string> features,
                        resolveFeatureColumns(table, options.predict));
    if (options.eval.label.empty())
        return inputError("--label is required");
    if (!table.column(options.eval.label))
        return inputError(table.fileName + ": no column '" + options.eval.label + "' (--label)");
    PredictOptions predictOptions = options.predict;
    predictOptions.features = features;
    predictOptions.featurePrefix.clear();
    predictOptions.allowMissing = options.modelHandlesMissing;
    predictOptions.progress = {};
    predictOptions.cancel = cancel;

    std::vector<std::size_t> featureIndex;
    std::vector<Stats> stats;
    for (const std::string &name : features) {
        featureIndex.push_back(static_cast<std::size_t>(table.columnIndex(name)));
        stats.push_back(featureStats(table.column(name)->numbers));
    }
    std::size_t total = 1, done = 0;
    for (const auto &p : perturbations)
        if (p.name != "missing" || options.modelHandlesMissing)
            total += p.name == "shift" ? (p.strengths.size() - 1) * 2 * features.size()
                                       : p.strengths.size() - 1;
    auto step = [&](const std::string &what) {
        ++done;
        if (progress)
            progress(double(done) / double(total), what);
    };

    PointEvaluator evaluator(table, options.eval);
    SB_ASSIGN_OR_RETURN(Predictions baseline, predict(table, model, predictOptions));
    SB_ASSIGN_OR_RETURN(json baseJson, evaluator.evaluate(baseline, cancel));
    step("baseline");
    Collector c;
    c.baselineMetrics = baseJson["metrics"];

    json sensitivity = json::array();
    for (std::size_t pi = 0; pi < perturbations.size(); ++pi) {
        const Perturbation &p = perturbations[pi];
        json entry{{"name", p.name}, {"strengths", p.strengths}, {"description", describe(p.name)}};
        if (p.name == "missing" && !options.modelHandlesMissing) {
            entry["supported"] = false;
            entry["reason"] = options.missingReason.empty()
                                  ? std::string("the model does not handle missing values")
                                  : options.missingReason;
            c.perturbations.push_back(entry);
            continue;
        }
        entry["supported"] = true;
        c.perturbations.push_back(entry);
        if (p.name == "shift") {
            const std::string main = "accuracy";
            for (std::size_t f = 0; f < features.size(); ++f) {
                json points = json::array();
                double changeSum = 0, worstDrop = -INFINITY;
                int n = 0;
                for (double s : p.strengths) {
                    if (s == 0)
                        continue;
                    for (double sign : {1.0, -1.0}) {
                        if (cancel && cancel->isCancelled())
                            return makeError(ErrorCode::Cancelled, "robustness run cancelled");
                        Table shifted = table;
                        for (double &v : shifted.columns[featureIndex[f]].numbers)
                            v += sign * s * stats[f].std;
                        SB_ASSIGN_OR_RETURN(Predictions pred,
                                            predict(shifted, model, predictOptions));
                        SB_ASSIGN_OR_RETURN(json evaluated, evaluator.evaluate(pred, cancel));
                        const double change = meanProbaChange(baseline, pred);
                        const json drop = dropJson(c.baselineMetrics, evaluated["metrics"]);
                        points.push_back(json{{"strength", sign * s},
                                              {"metrics", evaluated["metrics"]},
                                              {"mean_proba_change", jsonNumber(change)}});
                        c.addShift(s, evaluated["metrics"]);
                        if (std::isfinite(change)) {
                            changeSum += change;
                            ++n;
                        }
                        if (drop.contains(main))
                            worstDrop = std::max(worstDrop, drop[main].get<double>());
                        step("shift " + features[f]);
                    }
                }
                sensitivity.push_back(
                    json{{"feature", features[f]},
                         {"std", stats[f].std},
                         {"mean_proba_change", jsonNumber(n ? changeSum / n : NAN)},
                         {"accuracy_drop", jsonNumber(worstDrop)},
                         {"points", points}});
            }
            continue;
        }
        for (std::size_t si = 0; si < p.strengths.size(); ++si) {
            const double s = p.strengths[si];
            if (s == 0) {
                c.add(p.name, 0.0, baseJson, 0.0);
                continue;
            }
            if (cancel && cancel->isCancelled())
                return makeError(ErrorCode::Cancelled, "robustness run cancelled");
            std::mt19937_64 rng = rngFor(options.seed, p.name, si);
            Table perturbed = table;
            for (std::size_t f = 0; f < features.size(); ++f) {
                std::vector<double> &values = perturbed.columns[featureIndex[f]].numbers;
                if (p.name == "noise") {
                    std::normal_distribution<double> normal(0.0, s * stats[f].std);
                    for (double &v : values)
                        v += stats[f].std > 0 ? normal(rng) : 0.0;
                } else {
                    std::uniform_real_distribution<double> uniform(0.0, 1.0);
                    for (double &v : values)
                        if (uniform(rng) < s)
                            v = p.name == "dropout" ? stats[f].fill : std::nan("");
                }
            }
            SB_ASSIGN_OR_RETURN(Predictions pred, predict(perturbed, model, predictOptions));
            SB_ASSIGN_OR_RETURN(json evaluated, evaluator.evaluate(pred, cancel));
            c.add(p.name, s, evaluated, meanProbaChange(baseline, pred));
            step(p.name);
        }
    }
    std::stable_sort(sensitivity.begin(), sensitivity.end(), [](const json &a, const json &b) {
        const double x =
            a["mean_proba_change"].is_number() ? a["mean_proba_change"].get<double>() : -1;
        const double y =
            b["mean_proba_change"].is_number() ? b["mean_proba_change"].get<double>() : -1;
        return x > y;
    });
    for (std::size_t i = 0; i < sensitivity.size(); ++i)
        sensitivity[i]["rank"] = i + 1;

    json out{{"file", table.fileName},
             {"kind", "tabular"},
             {"rows", table.rows},
             {"label", options.eval.label},
             {"features", features},
             {"model_output", baseline.outputName},
             {"classes", baseline.labels},
             {"seed", options.seed},
             {"missing_values",
              json{{"supported", options.modelHandlesMissing}, {"reason", options.missingReason}}},
             {"sensitivity", sensitivity}};
    return finish(c, std::move(out), options);
}

Result<RobustnessReport> runImageRobustness(FloatArray images, const std::vector<double> &labels,
                                            const std::string &source, const ModelRunner &model,
                                            const RobustnessOptions &options,
                                            const CancelToken *cancel, const ProgressFn &progress)
{
    SB_ASSIGN_OR_RETURN(std::vector<Perturbation> perturbations,
                        parsePerturbations(options.perturbations, true));
    for (const std::string &g : options.gates)
        SB_TRY(checkGate(g));
    if (images.rank() < 2) {
        std::string shape = "[";
        for (std::size_t i = 0; i < images.rank(); ++i)
            shape += (i ? "," : "") + std::to_string(images.dim(i));
        return inputError(source + ": images must be float32 [N, ...] (got float32 " + shape +
                          "])");
    }
    const std::size_t n = static_cast<std::size_t>(images.dim(0));
    if (labels.size() != n)
        return inputError(source + ": " + std::to_string(n) + " images but " +
                          std::to_string(labels.size()) + " labels");
    if (n == 0)
        return inputError(source + ": no images");
    if (!options.eval.slices.empty())
        return inputError("--slice applies to tabular data only");
    const std::size_t per = images.values.size() / n;
    const std::size_t h =
        images.rank() >= 3 ? static_cast<std::size_t>(images.dim(images.rank() - 2)) : 1;
    const std::size_t w = static_cast<std::size_t>(images.dim(images.rank() - 1));
    const float *pixels = images.values.data();
    double sum = 0, minValue = INFINITY, maxValue = -INFINITY;
    const std::size_t count = n * per;
    for (std::size_t i = 0; i < count; ++i) {
        sum += pixels[i];
        minValue = std::min(minValue, double(pixels[i]));
        maxValue = std::max(maxValue, double(pixels[i]));
    }
    const double mean = sum / double(count);
    double ss = 0;
    for (std::size_t i = 0; i < count; ++i)
        ss += (pixels[i] - mean) * (pixels[i] - mean);
    const double stdev = std::sqrt(ss / double(count));

    // The label column evaluate() reads.
    Table table;
    table.fileName = source;
    table.rows = n;
    Column label;
    label.name = options.eval.label.empty() ? "label" : options.eval.label;
    label.numbers = labels;
    table.columns.push_back(label);
    for (std::size_t i = 0; i < n; ++i)
        table.lines.push_back(i + 1);
    EvalSpec spec = options.eval;
    spec.label = label.name;
    PointEvaluator evaluator(table, spec);

    const graph::TensorInfo &info = model.inputInfo;
    std::size_t batchRows = std::max<std::size_t>(options.predict.batchRows, 1);
    if (info.shape.rankKnown && info.shape.rank() >= 1 && info.shape.dims[0].isKnown())
        batchRows = static_cast<std::size_t>(info.shape.dims[0].value);
    if (n % batchRows != 0 && info.shape.rankKnown && info.shape.dims[0].isKnown())
        return inputError("model input '" + model.inputName + "' has a fixed batch of " +
                          std::to_string(batchRows) + "; " + source + " has " + std::to_string(n) +
                          " images");
    PredictOptions predictOptions = options.predict;
    predictOptions.cancel = cancel;
    predictOptions.progress = {};
    const std::vector<std::int64_t> shape = images.shape;
    auto run = [&](const std::vector<float> &data) {
        auto makeInput = [&](std::size_t begin, std::size_t rows) {
            FloatArray batch;
            batch.shape = shape;
            batch.shape[0] = static_cast<std::int64_t>(rows);
            batch.values.assign(data.begin() + std::ptrdiff_t(begin * per),
                                data.begin() + std::ptrdiff_t((begin + rows) * per));
            return batch;
        };
        return predictBatches(n, batchRows, makeInput, model, predictOptions);
    };
    std::size_t total = 1, done = 0;
    for (const auto &p : perturbations)
        total += p.strengths.size() - 1;
    const std::vector<float> original = std::move(images.values);
    SB_ASSIGN_OR_RETURN(Predictions baseline, run(original));
    SB_ASSIGN_OR_RETURN(json baseJson, evaluator.evaluate(baseline, cancel));
    if (progress)
        progress(double(++done) / double(total), "baseline");
    Collector c;
    c.baselineMetrics = baseJson["metrics"];
    for (const Perturbation &p : perturbations) {
        c.perturbations.push_back(json{{"name", p.name},
                                       {"strengths", p.strengths},
                                       {"description", describe(p.name)},
                                       {"supported", true}});
        for (std::size_t si = 0; si < p.strengths.size(); ++si) {
            const double s = p.strengths[si];
            if (s == 0) {
                c.add(p.name, 0.0, baseJson, 0.0);
                continue;
            }
            if (cancel && cancel->isCancelled())
                return makeError(ErrorCode::Cancelled, "robustness run cancelled");
            std::vector<float> data = original;
            if (p.name == "image_noise") {
                std::mt19937_64 rng = rngFor(options.seed, p.name, si);
                std::normal_distribution<double> normal(0.0, s * stdev);
                for (float &v : data)
                    v = static_cast<float>(v + normal(rng));
            } else if (p.name == "brightness") {
                const double delta = s * (maxValue - minValue);
                for (float &v : data)
                    v = static_cast<float>(v + delta);
            } else if (p.name == "contrast") {
                for (std::size_t i = 0; i < n; ++i) {
                    float *img = data.data() + i * per;
                    double m = 0;
                    for (std::size_t j = 0; j < per; ++j)
                        m += img[j];
                    m /= double(per);
                    for (std::size_t j = 0; j < per; ++j)
                        img[j] = static_cast<float>(m + (img[j] - m) * (1.0 - s));
                }
            } else { // translate
                const std::size_t k = static_cast<std::size_t>(std::lround(s));
                const std::size_t planes = count / (h * w);
                for (std::size_t plane = 0; plane < planes; ++plane) {
                    const float *src = original.data() + plane * h * w;
                    float *dst = data.data() + plane * h * w;
                    for (std::size_t y = 0; y < h; ++y)
                        for (std::size_t x = 0; x < w; ++x)
                            dst[y * w + x] = src[(y >= k ? y - k : 0) * w + (x >= k ? x - k : 0)];
                }
            }
            SB_ASSIGN_OR_RETURN(Predictions pred, run(data));
            SB_ASSIGN_OR_RETURN(json evaluated, evaluator.evaluate(pred, cancel));
            c.add(p.name, s, evaluated, meanProbaChange(baseline, pred));
            if (progress)
                progress(double(++done) / double(total), p.name);
        }
    }
    json out{
        {"file", source},
        {"kind", "images"},
        {"rows", n},
        {"label", label.name},
        {"input_shape", shape},
        {"pixel_stats", json{{"mean", mean}, {"std", stdev}, {"min", minValue}, {"max", maxValue}}},
        {"model_output", baseline.outputName},
        {"classes", baseline.labels},
        {"seed", options.seed},
        {"sensitivity", json::array()}};
    return finish(c, std::move(out), options);
}

} // namespace sb::eval
