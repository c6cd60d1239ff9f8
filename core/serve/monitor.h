// Online monitoring of a served model. Answered requests are copied (cheaply,
// on the batcher's thread) into a bounded queue; the monitor's own thread
// groups their rows into windows of `windowRows` rows and, per closed window:
//   - drift of the inputs and predictions against the reference data with the
//     same engine and defaults as `shardbench-cli drift` (eval::runDrift on
//     in-memory tables; columns = the input features named by `columns`, plus
//     `pred` (argmax class) and `score` (P(class 1), binary classifiers));
//   - estimated accuracy without labels for classifiers, confidence-based in
//     the manner of NannyML's CBPE: the mean of the top-class probability,
//     which equals the expected accuracy only when the model is calibrated;
//   - a masked sample of inputs and predictions (columns whose values the
//     quality report's PII detectors flag are replaced by null);
//   - every prediction (request id, row, class, confidence) so labels posted
//     later (`shardbench-cli feedback`) give realized accuracy;
//   - trigger rules (governance rule language) evaluated over the window
//     history; a trigger fires when its rule holds after a window and did not
//     hold before it; a firing stores an alert and a "monitor.alert" audit
//     entry in the same transaction as the window.
#pragma once

#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/eval/drift_dataset.h"
#include "core/eval/rules.h"
#include "core/serve/batcher.h"
#include "core/serve/metrics.h"
#include "core/store/store.h"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sb::serve {

struct Trigger
{
    std::string name;
    eval::Rule rule;
};

// "NAME=RULE", e.g. "drift=drifted_windows.last_3 >= 2". Errors name the text.
Result<Trigger> parseTrigger(const std::string &text);
// drift: drifted_windows.last_3 >= 2; accuracy: estimated_accuracy < 0.9;
// errors: error_rate > 0.05.
std::vector<Trigger> defaultTriggers();

// Metrics a trigger rule can use after a window (history oldest first):
//   share_drifted, dataset_drift (0/1), estimated_accuracy, realized_accuracy,
//   error_rate, requests, rows  -- of the newest window;
//   drifted_windows.last_N      -- windows with dataset drift among the last N.
// A metric the window does not have (no reference data, not a classifier) is
// absent, so rules on it stay Unknown and never fire.
std::map<std::string, double> triggerMetrics(const std::vector<store::MonitorWindowRecord> &history,
                                             const std::set<std::string> &names);

struct FiredTrigger
{
    std::string name;
    std::string rule;
    nlohmann::json metrics;
};
// Triggers whose rule holds on `history` but not on history without its newest window.
std::vector<FiredTrigger> evaluateTriggers(const std::vector<Trigger> &triggers,
                                           const std::vector<store::MonitorWindowRecord> &history);

// The reference data of a registered version: the reference file of its
// latest drift snapshot (`drift --db --model NAME:V`), if any.
Result<std::optional<std::filesystem::path>> versionReference(store::Store &store,
                                                              store::Id modelVersionId);

// "A,B,C" or ranges "A..D" over the reference header -> column names.
Result<std::vector<std::string>> expandColumns(const std::string &spec,
                                               const eval::Table &reference);

struct MonitorOptions
{
    std::filesystem::path database;  // where windows, predictions and alerts go
    std::filesystem::path reference; // empty: no drift
    std::string columns;             // names of the flattened input values ("A..B" ranges)
    std::string env;
    int windowRows = 100;
    int sampleRows = 20;
    int maxPending = 10000; // queued rows; more are dropped (counted in the window report)
    double datasetShare = 0.5;
    std::vector<Trigger> triggers = defaultTriggers();
};

class Monitor
{
public:
    static Result<std::unique_ptr<Monitor>> create(MonitorOptions options, ServeMetrics &metrics);
    ~Monitor();

    // Called for each answered request (batcher thread); never blocks on the store.
    void observe(const InferenceJob &job, const JobOutcome &outcome);
    // Closes the current partial window (if it has rows) and stops the thread.
    void stop();
    // Alerts raised by this monitor, newest last (for the GUI / logs).
    std::vector<store::MonitorAlertRecord> alerts() const;
    // The last error writing to the store (empty when fine).
    std::string lastError() const;

private:
    struct Observation;
    struct Window;
    Monitor(MonitorOptions options, ServeMetrics &metrics);
    void loop();
    Status closeWindow(Window &window);

    MonitorOptions m_options;
    ServeMetrics &m_metrics;
    std::optional<eval::Table> m_reference;
    std::vector<std::string> m_columns;
    std::unique_ptr<store::Store> m_store; // used on the monitor thread only
    std::map<std::string, std::vector<store::MonitorWindowRecord>> m_history; // per version
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::shared_ptr<Observation>> m_queue;
    std::size_t m_pendingRows = 0;
    std::int64_t m_dropped = 0;
    bool m_stopping = false;
    std::vector<store::MonitorAlertRecord> m_alerts;
    std::string m_lastError;
    std::thread m_thread;
};

} // namespace sb::serve
