// The Shardbench store: one SQLite file holding the model registry, datasets,
// plans, runs, evaluations, drift snapshots, governance checklists, sign-offs,
// deployments and the tamper-evident audit log.
//
// Contract:
// - This module is the only code that speaks SQL. Callers use Store and its
//   repositories; no SQLite type appears in this header.
// - Store::open() refuses (ErrorCode::InvalidInput, CLI exit 2) a file that is
//   not a SQLite database or fails PRAGMA quick_check, and refuses
//   (ErrorCode::Conflict, exit 2) a schema newer than this program knows. In
//   both cases the file is opened read-only and never modified.
// - The file runs in WAL mode with foreign keys on and a 5 s busy timeout, so
//   the GUI, the CLI and workers can use it at the same time.
// - Every write that touches more than one row runs in one BEGIN IMMEDIATE
//   transaction, and every state change appends one audit entry in the same
//   transaction (actor = Store::actor(), UTC ISO 8601 time).
// - A Store is used from one thread at a time; open one per thread/process.
#pragma once

#include "core/common/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::store {

using Json = nlohmann::json;
using Id = std::int64_t;

struct ModelRecord
{
    Id id = 0;
    std::string name;
    std::string createdAt;
    int versionCount = 0;
    int latestVersion = 0; // 0 when the model has no version yet
};

struct ModelVersionRecord
{
    Id id = 0;
    Id modelId = 0;
    std::string modelName;
    int version = 0; // 1, 2, ... per model
    std::string filePath;
    std::string sha256;
    std::int64_t sizeBytes = 0;
    std::string producer;         // "pytorch 1.13.1"
    Json opsets = Json::object(); // {"": 17, "com.microsoft": 1}
    std::string notes;
    std::string createdAt;
    std::string createdBy;

    std::string label() const { return modelName + ":" + std::to_string(version); }
};

struct NewModelVersion
{
    std::string modelName;
    std::string filePath;
    std::string sha256;
    std::int64_t sizeBytes = 0;
    std::string producer;
    Json opsets = Json::object();
    std::string notes;
};

struct DatasetRecord
{
    Id id = 0;
    std::string path;
    std::string sha256;
    std::int64_t rowCount = -1;  // -1 when unknown
    Json schema = Json::array(); // [{"name": "...", "type": "numerical"}, ...]
    std::string createdAt;
    std::string createdBy;
};

struct PlanRecord
{
    Id id = 0;
    std::optional<Id> modelVersionId;
    std::string name;
    std::string path;           // plan file on disk, if any
    Json plan = Json::object(); // the plan document itself
    std::string createdAt;      // filled by the store
    std::string createdBy;
};

struct RunRecord
{
    Id id = 0;
    std::optional<Id> modelVersionId;
    std::optional<Id> planId;
    std::string status;            // "succeeded", "failed", "cancelled", ...
    Json config = Json::object();  // devices, batch, micro-batches, hardware...
    Json timings = Json::object(); // per stage / total, milliseconds
    Json metrics = Json::object(); // throughput, latency percentiles...
    std::string tracePath;
    std::string startedAt; // caller's UTC ISO 8601; filled with now when empty
    std::string finishedAt;
    std::string createdBy;
};

// kind: "eval" (`eval --json` output), "quality" (`quality --json` output).
struct EvaluationMeta
{
    std::string kind = "eval";
    std::string source; // free text: data file, command line...
    std::optional<Id> datasetId;
};

struct EvaluationRecord
{
    Id id = 0;
    std::optional<Id> modelVersionId;
    std::optional<Id> datasetId;
    std::string kind;
    Json report;
    std::string source;
    std::string createdAt;
    std::string createdBy;
};

struct DriftSnapshotRecord
{
    Id id = 0;
    std::optional<Id> modelVersionId;
    std::optional<Id> datasetId;
    Json report; // `drift --json` output
    double shareDrifted = 0;
    bool datasetDrift = false;
    std::string source;
    std::string createdAt;
    std::string createdBy;
};

// The status of a checklist item. Manual items are open until signed
// (approved / rejected / needs_work, the latest sign-off wins); evidence
// items are passed / failing, or open while a metric is missing. Stored and
// printed as its name; compare the enum everywhere else.
enum class ItemStatus
{
    Open,
    Passed,
    Failing,
    Approved,
    Rejected,
    NeedsWork
};
// "open", "passed", "failing", "approved", "rejected", "needs_work".
const char *itemStatusName(ItemStatus status);
std::optional<ItemStatus> parseItemStatus(std::string_view name);
// Passed or approved: the item does not block a promotion.
bool itemStatusSatisfied(ItemStatus status);

struct ChecklistItemRecord
{
    Id id = 0;
    Id checklistId = 0;
    std::string itemId; // template item id, e.g. "calibration-ece"
    std::string section;
    std::string text;
    bool required = true;
    std::string kind; // "manual" | "evidence"
    std::string rule; // evidence rule, e.g. "ece <= 0.05"
    ItemStatus status = ItemStatus::Open;
    Json evidence = Json::object(); // metric values the rule saw, or the last decision
    std::string updatedAt;
};

struct ChecklistRecord
{
    Id id = 0;
    Id modelVersionId = 0;
    std::string templateId;
    std::string title;
    Json templateJson;
    std::string createdAt;
    std::string createdBy;
    std::vector<ChecklistItemRecord> items;
};

struct SignoffRecord
{
    Id id = 0;
    Id checklistItemId = 0;
    std::string reviewer;
    std::string role;
    std::string decision; // approve | reject | needs_work
    std::string comment;
    std::string createdAt;
    std::string createdBy;
};

struct DeploymentRecord
{
    Id id = 0;
    Id modelId = 0;
    Id modelVersionId = 0;
    int version = 0;
    std::string env;
    std::string action;             // promote | rollback
    std::optional<Id> priorEntryId; // the entry whose state a rollback returns to
    std::string comment;
    std::string createdAt;
    std::string createdBy;
};

struct AuditEntry
{
    Id id = 0;
    std::string time; // UTC ISO 8601 with milliseconds
    std::string actor;
    std::string action;  // "registry.add", "deploy.promote", "checklist.sign"...
    std::string subject; // "classifier:3"
    Json details = Json::object();
    std::string prevHash;
    std::string hash;
};

struct AuditVerification
{
    bool ok = true;
    std::int64_t entries = 0;
    std::optional<Id> firstBadId; // first altered entry, or the id after a deletion
    std::string problem;          // empty when ok
};

// Online monitoring of a served model (core/serve): one row per closed
// window of requests, the predictions made in it (for labels posted later)
// and the trigger alerts raised after it.
struct MonitorWindowRecord
{
    Id id = 0;
    std::optional<Id> modelVersionId;
    std::string model;
    std::string version;
    std::string env;
    std::string startedAt, endedAt;
    std::int64_t requests = 0;
    std::int64_t rows = 0;
    std::int64_t failures = 0;
    double errorRate = 0;
    std::optional<double> shareDrifted; // no reference data: no drift
    bool datasetDrift = false;
    std::optional<double> estimatedAccuracy; // confidence-based (CBPE), classifiers only
    std::optional<double> realizedAccuracy;  // from labels posted with `feedback`
    std::int64_t labelled = 0;
    Json report = Json::object(); // drift report, estimate notes, masked sample
    std::string createdAt;
};

struct MonitorPrediction
{
    std::string requestId;
    std::int64_t row = 0;  // row within the request
    std::string predicted; // class index as text
    double confidence = 0;
};

struct MonitorAlertRecord
{
    Id id = 0;
    Id windowId = 0;
    std::string model;
    std::string version;
    std::string trigger; // trigger name, e.g. "drift"
    std::string rule;    // governance rule text
    Json metrics = Json::object();
    std::string createdAt;
    std::string createdBy;
};

struct FeedbackLabel
{
    std::string requestId;
    std::int64_t row = 0;
    std::string label;
};

struct FeedbackResult
{
    std::int64_t matched = 0;
    std::int64_t unmatched = 0;
    std::vector<MonitorWindowRecord> windows; // windows whose realized accuracy changed
};

class Store;

class ModelRepository
{
public:
    explicit ModelRepository(Store &store) : m_store(store) {}
    // New version number = previous max + 1; creates the model on first use.
    Result<ModelVersionRecord> addVersion(const NewModelVersion &input);
    Result<std::vector<ModelRecord>> list();
    Result<std::vector<ModelVersionRecord>> versions(const std::string &modelName);
    // version 0 = latest version.
    Result<ModelVersionRecord> version(const std::string &modelName, int version = 0);
    Result<ModelVersionRecord> versionById(Id id);
    Result<std::optional<ModelVersionRecord>> findBySha256(const std::string &sha256);

private:
    Store &m_store;
};

class DatasetRepository
{
public:
    explicit DatasetRepository(Store &store) : m_store(store) {}
    // Returns the existing record when (path, sha256) is already known.
    Result<DatasetRecord> add(const DatasetRecord &input);
    Result<std::vector<DatasetRecord>> list();

private:
    Store &m_store;
};

class RunRepository
{
public:
    explicit RunRepository(Store &store) : m_store(store) {}
    Result<Id> savePlan(const PlanRecord &plan);
    Result<Id> saveRun(const RunRecord &run);
    Result<std::vector<PlanRecord>> plans(std::optional<Id> modelVersionId = std::nullopt);
    Result<std::vector<RunRecord>> runs(std::optional<Id> modelVersionId = std::nullopt);
    Result<std::optional<RunRecord>> latestRun(Id modelVersionId);
    Result<std::optional<PlanRecord>> plan(Id planId);

private:
    Store &m_store;
};

class EvaluationRepository
{
public:
    explicit EvaluationRepository(Store &store) : m_store(store) {}
    Result<Id> saveEvaluation(std::optional<Id> modelVersionId, const Json &report,
                              const EvaluationMeta &meta = {});
    Result<Id> saveDriftSnapshot(std::optional<Id> modelVersionId, const Json &report,
                                 const EvaluationMeta &meta = {});
    Result<std::optional<EvaluationRecord>> latestEvaluation(Id modelVersionId,
                                                             const std::string &kind = "eval");
    Result<std::optional<DriftSnapshotRecord>> latestDrift(Id modelVersionId);
    Result<std::vector<EvaluationRecord>> evaluations(std::optional<Id> modelVersionId);
    Result<std::vector<DriftSnapshotRecord>> driftSnapshots(std::optional<Id> modelVersionId);

private:
    Store &m_store;
};

class ChecklistRepository
{
public:
    explicit ChecklistRepository(Store &store) : m_store(store) {}
    // Instantiates a checklist with its items (one transaction, one audit entry).
    Result<ChecklistRecord> create(Id modelVersionId, const std::string &templateId,
                                   const std::string &title, const Json &templateJson,
                                   const std::vector<ChecklistItemRecord> &items);
    Result<std::vector<ChecklistRecord>> forVersion(Id modelVersionId);
    Result<std::optional<ChecklistRecord>> find(Id modelVersionId, const std::string &templateId);
    // Evidence refresh: writes the new status + evidence and an audit entry
    // ("checklist.evidence") only when the status changed.
    Status updateItemStatus(Id checklistItemId, ItemStatus status, const Json &evidence,
                            const std::string &subject);
    // Stores the sign-off, sets the item status from the decision, audits.
    Result<SignoffRecord> sign(Id checklistItemId, const SignoffRecord &signoff,
                               ItemStatus newStatus, const std::string &subject);
    Result<std::vector<SignoffRecord>> signoffs(Id checklistItemId);

private:
    Store &m_store;
};

class DeploymentRepository
{
public:
    explicit DeploymentRepository(Store &store) : m_store(store) {}
    Result<DeploymentRecord> promote(const ModelVersionRecord &version, const std::string &env,
                                     const std::string &comment = {});
    // Back to the version that was active before the current one was made
    // active (stack semantics: repeated rollbacks walk further back).
    Result<DeploymentRecord> rollback(const std::string &modelName, const std::string &env,
                                      const std::string &comment = {});
    Result<std::optional<DeploymentRecord>> active(const std::string &modelName,
                                                   const std::string &env);
    // The active deployment of every model in `env`, as (model name, entry).
    Result<std::vector<std::pair<std::string, DeploymentRecord>>>
    activeInEnv(const std::string &env);
    // Oldest first; env empty = all environments.
    Result<std::vector<DeploymentRecord>> history(const std::string &modelName,
                                                  const std::string &env = {});

private:
    Store &m_store;
};

class AuditRepository
{
public:
    explicit AuditRepository(Store &store) : m_store(store) {}
    // Appends one entry in its own transaction (for state changes made outside
    // the store, e.g. a report export).
    Result<AuditEntry> append(const std::string &action, const std::string &subject,
                              const Json &details);
    Result<std::vector<AuditEntry>> entries(std::optional<Id> afterId = std::nullopt);
    // Recomputes the chain; reports the first altered entry or deletion.
    Result<AuditVerification> verify();

private:
    Store &m_store;
};

class MonitorRepository
{
public:
    explicit MonitorRepository(Store &store) : m_store(store) {}
    // Stores a closed window with its predictions and the alerts raised after
    // it in one transaction; every alert appends a "monitor.alert" audit entry
    // (subject MODEL:VERSION). Returns the window with its id.
    Result<MonitorWindowRecord> saveWindow(const MonitorWindowRecord &window,
                                           const std::vector<MonitorPrediction> &predictions,
                                           std::vector<MonitorAlertRecord> alerts = {});
    // Newest last; `limit` most recent (0 = all). version empty = every version.
    Result<std::vector<MonitorWindowRecord>>
    windows(const std::string &model, const std::string &version = {}, std::int64_t limit = 0);
    Result<std::vector<MonitorAlertRecord>> alerts(const std::string &model = {},
                                                   const std::string &version = {});
    // Labels for earlier predictions (matched by request id and row); the
    // realized accuracy of every touched window is recomputed. One
    // transaction, one "monitor.feedback" audit entry.
    Result<FeedbackResult> applyFeedback(const std::vector<FeedbackLabel> &labels,
                                         const std::string &source);

private:
    Store &m_store;
};

struct OpenOptions
{
    bool createIfMissing = true;
    std::string
        actor; // empty: $SHARDBENCH_ACTOR, $USER, $LOGNAME, the account name, else "unknown"
};

class Store
{
public:
    struct Impl;

    static Result<std::unique_ptr<Store>> open(const std::filesystem::path &path,
                                               const OpenOptions &options = {});
    ~Store();
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    const std::filesystem::path &path() const;
    int schemaVersion() const;
    static int latestSchemaVersion();
    const std::string &actor() const;
    void setActor(std::string actor);

    ModelRepository &models() { return m_models; }
    DatasetRepository &datasets() { return m_datasets; }
    RunRepository &runs() { return m_runs; }
    EvaluationRepository &evaluations() { return m_evaluations; }
    ChecklistRepository &checklists() { return m_checklists; }
    DeploymentRepository &deployments() { return m_deployments; }
    AuditRepository &audit() { return m_audit; }
    MonitorRepository &monitor() { return m_monitor; }

    // The small API other modules call (each audited).
    Result<ModelVersionRecord> registerModelVersion(const NewModelVersion &input)
    {
        return m_models.addVersion(input);
    }
    Result<Id> saveEvaluation(std::optional<Id> modelVersionId, const Json &report,
                              const EvaluationMeta &meta = {})
    {
        return m_evaluations.saveEvaluation(modelVersionId, report, meta);
    }
    Result<Id> saveDriftSnapshot(std::optional<Id> modelVersionId, const Json &report,
                                 const EvaluationMeta &meta = {})
    {
        return m_evaluations.saveDriftSnapshot(modelVersionId, report, meta);
    }
    Result<Id> savePlan(const PlanRecord &plan) { return m_runs.savePlan(plan); }
    Result<Id> saveRun(const RunRecord &run) { return m_runs.saveRun(run); }
    // The registered version whose file has the same sha256, if any (lets
    // `eval --model M.onnx --db` attach results to the right version).
    Result<std::optional<ModelVersionRecord>>
    findModelVersionByFile(const std::filesystem::path &modelFile);
    // "NAME" (latest) or "NAME:VERSION".
    Result<ModelVersionRecord> resolveVersion(const std::string &reference);

    // Rows per table, for summaries ("model_versions" -> 3, ...).
    Result<std::map<std::string, std::int64_t>> tableCounts();

    Impl &impl() { return *m_impl; }

private:
    explicit Store(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> m_impl;
    ModelRepository m_models{*this};
    DatasetRepository m_datasets{*this};
    RunRepository m_runs{*this};
    EvaluationRepository m_evaluations{*this};
    ChecklistRepository m_checklists{*this};
    DeploymentRepository m_deployments{*this};
    AuditRepository m_audit{*this};
    MonitorRepository m_monitor{*this};
};

// Current UTC time as ISO 8601 with milliseconds: "2026-11-25T04:39:19.123Z".
std::string utcNowIso8601();

// Audit chain: canonical form = the entry as a JSON object with keys
// {action, actor, details, id, prev_hash, subject, time}, sorted, no spaces
// (nlohmann::json::dump()); hash = sha256hex(prev_hash + canonical). The first
// entry's prev_hash is 64 zeros.
std::string auditCanonical(const AuditEntry &entry);
std::string auditHash(const std::string &prevHash, const std::string &canonical);

// For tests: creates (or migrates) a database at `path` to exactly
// schema version `version` (0 <= version <= latestSchemaVersion()).
Status migrateDatabaseTo(const std::filesystem::path &path, int version);

} // namespace sb::store
