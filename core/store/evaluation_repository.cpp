#include "core/store/store_impl.h"

namespace sb::store {

using detail::jsonText;
using detail::parseJsonText;
using detail::Statement;
using detail::Transaction;

namespace {

constexpr const char *kEvaluationColumns =
    "SELECT id, model_version_id, dataset_id, kind, report, source, created_at, created_by "
    "FROM evaluations ";
constexpr const char *kDriftColumns =
    "SELECT id, model_version_id, dataset_id, report, share_drifted, dataset_drift, source, "
    "created_at, created_by FROM drift_snapshots ";

EvaluationRecord readEvaluation(const Statement &row)
{
    EvaluationRecord record;
    record.id = row.columnInt(0);
    record.modelVersionId = row.columnOptionalInt(1);
    record.datasetId = row.columnOptionalInt(2);
    record.kind = row.columnText(3);
    record.report = parseJsonText(row.columnText(4));
    record.source = row.columnText(5);
    record.createdAt = row.columnText(6);
    record.createdBy = row.columnText(7);
    return record;
}

DriftSnapshotRecord readDrift(const Statement &row)
{
    DriftSnapshotRecord record;
    record.id = row.columnInt(0);
    record.modelVersionId = row.columnOptionalInt(1);
    record.datasetId = row.columnOptionalInt(2);
    record.report = parseJsonText(row.columnText(3));
    record.shareDrifted = row.columnDouble(4);
    record.datasetDrift = row.columnInt(5) != 0;
    record.source = row.columnText(6);
    record.createdAt = row.columnText(7);
    record.createdBy = row.columnText(8);
    return record;
}

Json optionalId(std::optional<Id> id)
{
    return id ? Json(*id) : Json();
}

// A short summary of a report for the audit details (not the whole report),
// derived from the report's shape rather than a list of known keys: every
// top-level scalar (number, boolean, string: rows, task, dataset_drift,
// share_drifted, ...) and every scalar of its "overall" object (the overall
// metrics, whatever the metric table holds). Arrays, nested objects and
// nulls are left out, as are strings over 200 bytes.
Json summarise(const Json &report)
{
    Json summary = Json::object();
    if (!report.is_object())
        return summary;
    auto scalar = [](const Json &value) {
        return value.is_number() || value.is_boolean() ||
               (value.is_string() && value.get_ref<const std::string &>().size() <= 200);
    };
    for (const auto &[key, value] : report.items())
        if (scalar(value))
            summary[key] = value;
    if (auto overall = report.find("overall"); overall != report.end() && overall->is_object())
        for (const auto &[key, value] : overall->items())
            if (scalar(value) && !summary.contains(key))
                summary[key] = value;
    return summary;
}

} // namespace

Result<Id> EvaluationRepository::saveEvaluation(std::optional<Id> modelVersionId,
                                                const Json &report, const EvaluationMeta &meta)
{
    if (!report.is_object())
        return makeError(ErrorCode::InvalidInput, "an evaluation report must be a JSON object");
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO evaluations (model_version_id, dataset_id, kind, "
                                   "report, source, created_at, created_by) VALUES (?, ?, ?, ?, "
                                   "?, ?, ?)"));
    insert.bind(1, modelVersionId)
        .bind(2, meta.datasetId)
        .bind(3, meta.kind.empty() ? std::string("eval") : meta.kind)
        .bind(4, jsonText(report))
        .bind(5, meta.source)
        .bind(6, utcNowIso8601())
        .bind(7, impl.actor);
    SB_TRY(insert.run());
    Id id = db.lastInsertId();
    std::string subject = "evaluation " + std::to_string(id);
    if (modelVersionId) {
        SB_ASSIGN_OR_RETURN(ModelVersionRecord version,
                            m_store.models().versionById(*modelVersionId));
        subject = version.label();
    }
    Json details = summarise(report);
    details["evaluation_id"] = id;
    details["kind"] = meta.kind;
    details["model_version_id"] = optionalId(modelVersionId);
    details["source"] = meta.source;
    SB_TRY(impl.appendAudit("evaluation.store", subject, details));
    SB_TRY(transaction.commit());
    return id;
}

Result<Id> EvaluationRepository::saveDriftSnapshot(std::optional<Id> modelVersionId,
                                                   const Json &report, const EvaluationMeta &meta)
{
    if (!report.is_object())
        return makeError(ErrorCode::InvalidInput, "a drift report must be a JSON object");
    // Tolerate reports without these keys (stored as 0 / false) but never throw.
    double share = report.contains("share_drifted") && report["share_drifted"].is_number()
                       ? report["share_drifted"].get<double>()
                       : 0.0;
    bool datasetDrift = report.contains("dataset_drift") && report["dataset_drift"].is_boolean()
                            ? report["dataset_drift"].get<bool>()
                            : false;
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO drift_snapshots (model_version_id, dataset_id, "
                                   "report, share_drifted, dataset_drift, source, created_at, "
                                   "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.bind(1, modelVersionId)
        .bind(2, meta.datasetId)
        .bind(3, jsonText(report))
        .bind(4, share)
        .bind(5, datasetDrift ? 1 : 0)
        .bind(6, meta.source)
        .bind(7, utcNowIso8601())
        .bind(8, impl.actor);
    SB_TRY(insert.run());
    Id id = db.lastInsertId();
    std::string subject = "drift " + std::to_string(id);
    if (modelVersionId) {
        SB_ASSIGN_OR_RETURN(ModelVersionRecord version,
                            m_store.models().versionById(*modelVersionId));
        subject = version.label();
    }
    Json details = summarise(report);
    details["drift_snapshot_id"] = id;
    details["model_version_id"] = optionalId(modelVersionId);
    details["source"] = meta.source;
    SB_TRY(impl.appendAudit("drift.store", subject, details));
    SB_TRY(transaction.commit());
    return id;
}

Result<std::optional<EvaluationRecord>>
EvaluationRepository::latestEvaluation(Id modelVersionId, const std::string &kind)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kEvaluationColumns) +
                                   "WHERE model_version_id = ? AND kind = ? ORDER BY id DESC "
                                   "LIMIT 1"));
    stmt.bind(1, modelVersionId).bind(2, kind);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return std::optional<EvaluationRecord>();
    return std::optional<EvaluationRecord>(readEvaluation(stmt));
}

Result<std::optional<DriftSnapshotRecord>> EvaluationRepository::latestDrift(Id modelVersionId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kDriftColumns) +
                                   "WHERE model_version_id = ? ORDER BY id DESC LIMIT 1"));
    stmt.bind(1, modelVersionId);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return std::optional<DriftSnapshotRecord>();
    return std::optional<DriftSnapshotRecord>(readDrift(stmt));
}

Result<std::vector<EvaluationRecord>>
EvaluationRepository::evaluations(std::optional<Id> modelVersionId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(
        Statement stmt,
        db.prepare(std::string(kEvaluationColumns) +
                   (modelVersionId ? "WHERE model_version_id = ? ORDER BY id" : "ORDER BY id")));
    if (modelVersionId)
        stmt.bind(1, *modelVersionId);
    std::vector<EvaluationRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        records.push_back(readEvaluation(stmt));
    }
    return records;
}

Result<std::vector<DriftSnapshotRecord>>
EvaluationRepository::driftSnapshots(std::optional<Id> modelVersionId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(
        Statement stmt,
        db.prepare(std::string(kDriftColumns) +
                   (modelVersionId ? "WHERE model_version_id = ? ORDER BY id" : "ORDER BY id")));
    if (modelVersionId)
        stmt.bind(1, *modelVersionId);
    std::vector<DriftSnapshotRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        records.push_back(readDrift(stmt));
    }
    return records;
}

} // namespace sb::store
