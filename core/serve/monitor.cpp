#include "core/serve/monitor.h"

#include "core/eval/drift_json.h"
#include "core/eval/pii.h"
#include "core/serve/tensor_json.h"

#include <cmath>
#include <random>

namespace sb::serve {

// ---------------------------------------------------------------- triggers

Result<Trigger> parseTrigger(const std::string &text)
{
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || text.find_first_of("<>!", 0) < eq)
        return makeError(ErrorCode::InvalidInput, "trigger '" + text +
                                                      "': expected NAME=RULE, e.g. "
                                                      "drift=drifted_windows.last_3 >= 2");
    Trigger trigger;
    trigger.name = text.substr(0, eq);
    auto rule = eval::Rule::parse(text.substr(eq + 1));
    if (!rule)
        return rule.error().withContext("trigger '" + trigger.name + "'");
    trigger.rule = std::move(*rule);
    return trigger;
}

std::vector<Trigger> defaultTriggers()
{
    std::vector<Trigger> out;
    for (const char *text : {"drift=drifted_windows.last_3 >= 2",
                             "accuracy=estimated_accuracy < 0.9", "errors=error_rate > 0.05"})
        out.push_back(*parseTrigger(text));
    return out;
}

std::map<std::string, double> triggerMetrics(const std::vector<store::MonitorWindowRecord> &history,
                                             const std::set<std::string> &names)
{
    std::map<std::string, double> metrics;
    if (history.empty())
        return metrics;
    const auto &last = history.back();
    if (last.shareDrifted) {
        metrics["share_drifted"] = *last.shareDrifted;
        metrics["dataset_drift"] = last.datasetDrift ? 1.0 : 0.0;
    }
    if (last.estimatedAccuracy)
        metrics["estimated_accuracy"] = *last.estimatedAccuracy;
    if (last.realizedAccuracy)
        metrics["realized_accuracy"] = *last.realizedAccuracy;
    metrics["error_rate"] = last.errorRate;
    metrics["requests"] = static_cast<double>(last.requests);
    metrics["rows"] = static_cast<double>(last.rows);
    const std::string prefix = "drifted_windows.last_";
    for (const std::string &name : names) {
        if (name.rfind(prefix, 0) != 0)
            continue;
        const std::string digits = name.substr(prefix.size());
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const std::size_t n = std::stoul(digits);
        double count = 0;
        bool any = false;
        for (std::size_t i = history.size() > n ? history.size() - n : 0; i < history.size(); ++i) {
            if (!history[i].shareDrifted)
                continue;
            any = true;
            count += history[i].datasetDrift ? 1.0 : 0.0;
        }
        if (any)
            metrics[name] = count;
    }
    return metrics;
}

std::vector<FiredTrigger> evaluateTriggers(const std::vector<Trigger> &triggers,
                                           const std::vector<store::MonitorWindowRecord> &history)
{
    std::vector<FiredTrigger> fired;
    if (history.empty())
        return fired;
    const std::vector<store::MonitorWindowRecord> before(history.begin(), history.end() - 1);
    for (const Trigger &trigger : triggers) {
        const auto names = trigger.rule.metricNames();
        const auto now = triggerMetrics(history, names);
        if (trigger.rule.evaluate(now) != eval::Verdict::Pass)
            continue;
        if (trigger.rule.evaluate(triggerMetrics(before, names)) == eval::Verdict::Pass)
            continue;
        nlohmann::json used = nlohmann::json::object();
        for (const std::string &name : names)
            if (auto it = now.find(name); it != now.end())
                used[name] = it->second;
        fired.push_back({trigger.name, trigger.rule.text(), used});
    }
    return fired;
}

Result<std::optional<std::filesystem::path>> versionReference(store::Store &store,
                                                              store::Id modelVersionId)
{
    SB_ASSIGN_OR_RETURN(auto snapshot, store.evaluations().latestDrift(modelVersionId));
    if (!snapshot)
        return std::optional<std::filesystem::path>();
    const auto &report = snapshot->report;
    if (report.contains("reference") && report["reference"].contains("file") &&
        report["reference"]["file"].is_string()) {
        std::filesystem::path file = report["reference"]["file"].get<std::string>();
        if (std::filesystem::exists(file))
            return std::optional<std::filesystem::path>(file);
    }
    return std::optional<std::filesystem::path>();
}

Result<std::vector<std::string>> expandColumns(const std::string &spec,
                                               const eval::Table &reference)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= spec.size()) {
        std::size_t comma = spec.find(',', start);
        if (comma == std::string::npos)
            comma = spec.size();
        std::string item = spec.substr(start, comma - start);
        start = comma + 1;
        if (item.empty())
            continue;
        const auto dots = item.find("..");
        if (dots == std::string::npos) {
            out.push_back(item);
            continue;
        }
        const int from = reference.columnIndex(item.substr(0, dots));
        const int to = reference.columnIndex(item.substr(dots + 2));
        if (from < 0 || to < 0 || to < from)
            return makeError(ErrorCode::InvalidInput, "--columns " + item +
                                                          ": both ends must be columns of " +
                                                          reference.fileName + ", in header order");
        for (int c = from; c <= to; ++c)
            out.push_back(reference.columns[static_cast<std::size_t>(c)].name);
    }
    return out;
}

// ---------------------------------------------------------------- monitor

namespace {

std::string isoNow()
{
    return store::utcNowIso8601();
}

// Top class of a row of probabilities, when `tensor` holds probabilities
// ([rows, C], C >= 2, float, each row in [0, 1] summing to 1).
bool probabilities(const runtime::Tensor &tensor)
{
    if (tensor.rank() != 2 || tensor.dim(1) < 2 ||
        (tensor.type() != graph::ElementType::Float32 &&
         tensor.type() != graph::ElementType::Float64))
        return false;
    for (std::int64_t r = 0; r < tensor.dim(0); ++r) {
        double sum = 0;
        for (std::int64_t c = 0; c < tensor.dim(1); ++c) {
            const double p = elementAsDouble(tensor, r * tensor.dim(1) + c);
            if (!(p >= 0.0 && p <= 1.0))
                return false;
            sum += p;
        }
        if (std::abs(sum - 1.0) > 1e-3)
            return false;
    }
    return true;
}

} // namespace

struct Monitor::Observation
{
    std::string model, version;
    std::optional<std::int64_t> versionId;
    std::string requestId;
    bool ok = false;
    std::int64_t rows = 0;
    std::size_t width = 0;      // values per row
    std::vector<double> values; // rows x width
    bool classifier = false;
    std::vector<int> predicted;     // per row
    std::vector<double> confidence; // per row
    std::vector<double> score;      // per row, binary classifiers: P(class 1)
};

struct Monitor::Window
{
    std::string model, version;
    std::optional<std::int64_t> versionId;
    std::string startedAt;
    std::int64_t requests = 0, rows = 0, failures = 0;
    std::size_t width = 0;
    std::vector<std::vector<double>> columns; // width columns of values
    bool classifier = true;
    std::vector<double> pred, score, confidence;
    std::vector<store::MonitorPrediction> predictions;
    std::vector<std::vector<double>> sample; // reservoir of rows (values + pred)
    std::int64_t seen = 0;
    std::mt19937_64 rng{42};
};

Monitor::Monitor(MonitorOptions options, ServeMetrics &metrics)
    : m_options(std::move(options)), m_metrics(metrics)
{}

Result<std::unique_ptr<Monitor>> Monitor::create(MonitorOptions options, ServeMetrics &metrics)
{
    if (options.windowRows < 1)
        return makeError(ErrorCode::InvalidInput, "--monitor-window must be >= 1");
    std::unique_ptr<Monitor> monitor(new Monitor(std::move(options), metrics));
    SB_ASSIGN_OR_RETURN(monitor->m_store, store::Store::open(monitor->m_options.database));
    if (!monitor->m_options.reference.empty()) {
        SB_ASSIGN_OR_RETURN(eval::Table table, eval::readCsv(monitor->m_options.reference));
        monitor->m_reference = std::move(table);
    }
    if (!monitor->m_options.columns.empty()) {
        if (!monitor->m_reference)
            return makeError(ErrorCode::InvalidInput, "--columns needs --reference data");
        SB_ASSIGN_OR_RETURN(monitor->m_columns,
                            expandColumns(monitor->m_options.columns, *monitor->m_reference));
    }
    monitor->m_thread = std::thread([m = monitor.get()] { m->loop(); });
    return monitor;
}

Monitor::~Monitor()
{
    stop();
}

void Monitor::observe(const InferenceJob &job, const JobOutcome &outcome)
{
    if (!outcome.engine)
        return;
    auto obs = std::make_shared<Observation>();
    obs->model = outcome.engine->name();
    obs->version = outcome.engine->version();
    obs->versionId = outcome.engine->spec().modelVersionId;
    obs->requestId = job.requestId;
    obs->ok = outcome.ok;
    obs->rows = job.rows;
    if (outcome.ok) {
        // Inputs flattened per row, in the engine's input order.
        for (const IoInfo &io : outcome.engine->inputs()) {
            auto it = job.inputs.find(io.name);
            if (it != job.inputs.end() && it->second.rank() > 0 && job.rows > 0)
                obs->width += static_cast<std::size_t>(it->second.elementCount() / job.rows);
        }
        obs->values.reserve(obs->width * static_cast<std::size_t>(job.rows));
        for (std::int64_t r = 0; r < job.rows; ++r)
            for (const IoInfo &io : outcome.engine->inputs()) {
                auto it = job.inputs.find(io.name);
                if (it == job.inputs.end() || it->second.rank() == 0)
                    continue;
                const std::int64_t per = it->second.elementCount() / job.rows;
                for (std::int64_t i = 0; i < per; ++i)
                    obs->values.push_back(elementAsDouble(it->second, r * per + i));
            }
        if (!outcome.engine->outputs().empty()) {
            auto it = outcome.outputs.find(outcome.engine->outputs().front().name);
            if (it != outcome.outputs.end() && probabilities(it->second)) {
                obs->classifier = true;
                const auto &t = it->second;
                for (std::int64_t r = 0; r < t.dim(0); ++r) {
                    int best = 0;
                    double top = -1;
                    for (std::int64_t c = 0; c < t.dim(1); ++c) {
                        const double p = elementAsDouble(t, r * t.dim(1) + c);
                        if (p > top) {
                            top = p;
                            best = static_cast<int>(c);
                        }
                    }
                    obs->predicted.push_back(best);
                    obs->confidence.push_back(top);
                    if (t.dim(1) == 2)
                        obs->score.push_back(elementAsDouble(t, r * 2 + 1));
                }
            }
        }
    }
    std::lock_guard lock(m_mutex);
    if (m_stopping)
        return;
    if (m_pendingRows + static_cast<std::size_t>(obs->rows) >
        static_cast<std::size_t>(m_options.maxPending)) {
        m_dropped += obs->rows;
        return;
    }
    m_pendingRows += static_cast<std::size_t>(obs->rows);
    m_queue.push_back(std::move(obs));
    m_wake.notify_one();
}

void Monitor::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

std::vector<store::MonitorAlertRecord> Monitor::alerts() const
{
    std::lock_guard lock(m_mutex);
    return m_alerts;
}

std::string Monitor::lastError() const
{
    std::lock_guard lock(m_mutex);
    return m_lastError;
}

void Monitor::loop()
{
    std::optional<Window> window;
    auto reportError = [&](const Status &status) {
        if (!status.ok()) {
            std::lock_guard lock(m_mutex);
            m_lastError = status.error().message;
        }
    };
    for (;;) {
        std::shared_ptr<Observation> obs;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty()) {
                lock.unlock();
                if (window && window->requests > 0)
                    reportError(closeWindow(*window));
                return;
            }
            obs = std::move(m_queue.front());
            m_queue.pop_front();
            m_pendingRows -= static_cast<std::size_t>(obs->rows);
        }
        if (window && (window->version != obs->version || window->model != obs->model ||
                       (obs->ok && window->rows > 0 && window->width != obs->width))) {
            reportError(closeWindow(*window));
            window.reset();
        }
        if (!window) {
            window.emplace();
            window->model = obs->model;
            window->version = obs->version;
            window->versionId = obs->versionId;
            window->startedAt = isoNow();
        }
        Window &w = *window;
        ++w.requests;
        if (!obs->ok) {
            ++w.failures;
            continue;
        }
        if (w.rows == 0) {
            w.width = obs->width;
            w.columns.assign(w.width, {});
        }
        w.classifier = w.classifier && obs->classifier;
        for (std::int64_t r = 0; r < obs->rows; ++r) {
            const double *row = obs->values.data() + static_cast<std::size_t>(r) * obs->width;
            for (std::size_t c = 0; c < obs->width; ++c)
                w.columns[c].push_back(row[c]);
            std::vector<double> sampled(row, row + obs->width);
            if (obs->classifier) {
                const auto i = static_cast<std::size_t>(r);
                w.pred.push_back(obs->predicted[i]);
                w.confidence.push_back(obs->confidence[i]);
                if (!obs->score.empty())
                    w.score.push_back(obs->score[i]);
                w.predictions.push_back(
                    {obs->requestId, r, std::to_string(obs->predicted[i]), obs->confidence[i]});
                sampled.push_back(obs->predicted[i]);
            }
            // Reservoir sample of rows for the stored window.
            ++w.seen;
            if (static_cast<int>(w.sample.size()) < m_options.sampleRows) {
                w.sample.push_back(std::move(sampled));
            } else {
                std::uniform_int_distribution<std::int64_t> pick(0, w.seen - 1);
                const auto j = pick(w.rng);
                if (j < m_options.sampleRows)
                    w.sample[static_cast<std::size_t>(j)] = std::move(sampled);
            }
        }
        w.rows += obs->rows;
        if (w.rows >= m_options.windowRows) {
            reportError(closeWindow(w));
            window.reset();
        }
    }
}

Status Monitor::closeWindow(Window &w)
{
    store::MonitorWindowRecord record;
    record.modelVersionId = w.versionId;
    record.model = w.model;
    record.version = w.version;
    record.env = m_options.env;
    record.startedAt = w.startedAt;
    record.endedAt = isoNow();
    record.requests = w.requests;
    record.rows = w.rows;
    record.failures = w.failures;
    record.errorRate =
        w.requests ? static_cast<double>(w.failures) / static_cast<double>(w.requests) : 0.0;
    nlohmann::json report = nlohmann::json::object();
    {
        std::lock_guard lock(m_mutex);
        report["dropped_rows"] = m_dropped;
        m_dropped = 0;
    }
    // Column names of the flattened inputs.
    std::vector<std::string> names;
    for (std::size_t c = 0; c < w.width; ++c)
        names.push_back(c < m_columns.size() && m_columns.size() == w.width
                            ? m_columns[c]
                            : "input_" + std::to_string(c));
    const bool classifier =
        w.classifier && w.pred.size() == static_cast<std::size_t>(w.rows) && w.rows > 0;
    if (classifier) {
        double sum = 0;
        for (double c : w.confidence)
            sum += c;
        record.estimatedAccuracy = sum / static_cast<double>(w.confidence.size());
        report["estimate"] = {{"method", "confidence-based (CBPE): mean top-class probability"},
                              {"valid_when",
                               "the model's probabilities are calibrated (see `calibrate`/`eval` "
                               "ECE); otherwise the estimate is biased"}};
    }
    if (m_reference && w.rows > 0) {
        eval::Table current;
        current.fileName = "window";
        current.rows = static_cast<std::size_t>(w.rows);
        for (std::size_t c = 0; c < w.width; ++c) {
            eval::Column column;
            column.name = names[c];
            column.numbers = w.columns[c];
            current.columns.push_back(std::move(column));
        }
        if (classifier) {
            eval::Column pred;
            pred.name = "pred";
            pred.numbers = w.pred;
            current.columns.push_back(std::move(pred));
            if (w.score.size() == w.pred.size()) {
                eval::Column score;
                score.name = "score";
                score.numbers = w.score;
                current.columns.push_back(std::move(score));
            }
        }
        for (std::size_t r = 0; r < current.rows; ++r)
            current.lines.push_back(r + 2);
        eval::DriftDatasetOptions options;
        options.datasetShare = m_options.datasetShare;
        auto drift = eval::runDrift(*m_reference, current, options);
        if (drift) {
            record.shareDrifted = drift->summary.shareDrifted;
            record.datasetDrift = drift->summary.datasetDrift;
            nlohmann::json json = eval::driftReportToJson(*drift);
            // Keep the per-column verdicts; the histograms stay out of the store.
            if (json.contains("columns"))
                for (auto &column : json["columns"])
                    column.erase("bins");
            report["drift"] = json;
        } else {
            report["drift_error"] = drift.error().message;
        }
    }
    // Masked sample: a column whose values the PII detectors flag (integer
    // values that are valid card numbers, as the quality report checks
    // numerical columns) in at least 5% of the sampled rows is replaced by null.
    std::vector<std::string> sampleColumns = names;
    if (classifier)
        sampleColumns.push_back("pred");
    nlohmann::json masked = nlohmann::json::array();
    std::vector<bool> mask(sampleColumns.size(), false);
    for (std::size_t c = 0; c < sampleColumns.size() && !w.sample.empty(); ++c) {
        std::size_t hits = 0;
        for (const auto &row : w.sample) {
            const double v = row[c];
            if (std::isfinite(v) && std::floor(v) == v && std::abs(v) < 1e19 &&
                eval::isCreditCardNumber(std::to_string(static_cast<long long>(v))))
                ++hits;
        }
        if (hits > 0 && static_cast<double>(hits) >= 0.05 * static_cast<double>(w.sample.size())) {
            mask[c] = true;
            masked.push_back({{"column", sampleColumns[c]},
                              {"pii", eval::piiKindName(eval::PiiKind::CreditCard)}});
        }
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &row : w.sample) {
        nlohmann::json out = nlohmann::json::array();
        for (std::size_t c = 0; c < row.size() && c < mask.size(); ++c)
            out.push_back(mask[c] ? nlohmann::json() : nlohmann::json(row[c]));
        rows.push_back(out);
    }
    report["sample"] = {{"columns", sampleColumns}, {"rows", rows}, {"masked", masked}};
    record.report = report;

    auto &history = m_history[w.model + ":" + w.version];
    if (history.empty()) {
        auto stored = m_store->monitor().windows(w.model, w.version, 50);
        if (stored)
            history = std::move(*stored);
    }
    history.push_back(record);
    std::vector<store::MonitorAlertRecord> alerts;
    for (const FiredTrigger &fired : evaluateTriggers(m_options.triggers, history)) {
        store::MonitorAlertRecord alert;
        alert.model = w.model;
        alert.version = w.version;
        alert.trigger = fired.name;
        alert.rule = fired.rule;
        alert.metrics = fired.metrics;
        alerts.push_back(std::move(alert));
    }
    auto saved = m_store->monitor().saveWindow(record, w.predictions, alerts);
    if (!saved) {
        history.pop_back();
        return saved.error();
    }
    history.back() = *saved;
    if (history.size() > 200)
        history.erase(history.begin(), history.begin() + 100);
    m_metrics.recordWindow();
    if (!alerts.empty()) {
        auto stored = m_store->monitor().alerts(w.model, w.version);
        std::lock_guard lock(m_mutex);
        if (stored)
            for (const auto &alert : *stored)
                if (alert.windowId == saved->id) {
                    m_alerts.push_back(alert);
                    m_metrics.recordAlert();
                }
    }
    return Status::success();
}

} // namespace sb::serve
