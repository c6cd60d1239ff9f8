#include "core/store/store_impl.h"

namespace sb::store {

using detail::jsonText;
using detail::parseJsonText;
using detail::Statement;
using detail::Transaction;

namespace {

PlanRecord readPlan(const Statement &row)
{
    PlanRecord record;
    record.id = row.columnInt(0);
    record.modelVersionId = row.columnOptionalInt(1);
    record.name = row.columnText(2);
    record.path = row.columnText(3);
    record.plan = parseJsonText(row.columnText(4));
    record.createdAt = row.columnText(5);
    record.createdBy = row.columnText(6);
    return record;
}

RunRecord readRun(const Statement &row)
{
    RunRecord record;
    record.id = row.columnInt(0);
    record.modelVersionId = row.columnOptionalInt(1);
    record.planId = row.columnOptionalInt(2);
    record.status = row.columnText(3);
    record.config = parseJsonText(row.columnText(4));
    record.timings = parseJsonText(row.columnText(5));
    record.metrics = parseJsonText(row.columnText(6));
    record.tracePath = row.columnText(7);
    record.startedAt = row.columnText(8);
    record.finishedAt = row.columnText(9);
    record.createdBy = row.columnText(10);
    return record;
}

constexpr const char *kPlanColumns =
    "SELECT id, model_version_id, name, path, plan, created_at, created_by FROM plans ";
constexpr const char *kRunColumns =
    "SELECT id, model_version_id, plan_id, status, config, timings, metrics, trace_path, "
    "started_at, finished_at, created_by FROM runs ";

} // namespace

Result<Id> RunRepository::savePlan(const PlanRecord &plan)
{
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO plans (model_version_id, name, path, plan, "
                                   "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)"));
    insert.bind(1, plan.modelVersionId)
        .bind(2, plan.name)
        .bind(3, plan.path)
        .bind(4, jsonText(plan.plan))
        .bind(5, utcNowIso8601())
        .bind(6, impl.actor);
    SB_TRY(insert.run());
    Id id = db.lastInsertId();
    SB_TRY(impl.appendAudit(
        "plan.save", plan.name.empty() ? "plan " + std::to_string(id) : plan.name,
        {{"plan_id", id},
         {"model_version_id", plan.modelVersionId ? Json(*plan.modelVersionId) : Json()},
         {"path", plan.path}}));
    SB_TRY(transaction.commit());
    return id;
}

Result<Id> RunRepository::saveRun(const RunRecord &run)
{
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO runs (model_version_id, plan_id, status, config, "
                                   "timings, metrics, trace_path, started_at, finished_at, "
                                   "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    std::string started = run.startedAt.empty() ? utcNowIso8601() : run.startedAt;
    insert.bind(1, run.modelVersionId)
        .bind(2, run.planId)
        .bind(3, run.status.empty() ? std::string("succeeded") : run.status)
        .bind(4, jsonText(run.config))
        .bind(5, jsonText(run.timings))
        .bind(6, jsonText(run.metrics))
        .bind(7, run.tracePath)
        .bind(8, started)
        .bind(9, run.finishedAt)
        .bind(10, impl.actor);
    SB_TRY(insert.run());
    Id id = db.lastInsertId();
    SB_TRY(impl.appendAudit(
        "run.save", "run " + std::to_string(id),
        {{"run_id", id},
         {"status", run.status},
         {"model_version_id", run.modelVersionId ? Json(*run.modelVersionId) : Json()},
         {"plan_id", run.planId ? Json(*run.planId) : Json()}}));
    SB_TRY(transaction.commit());
    return id;
}

Result<std::vector<PlanRecord>> RunRepository::plans(std::optional<Id> modelVersionId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(
        Statement stmt,
        db.prepare(std::string(kPlanColumns) +
                   (modelVersionId ? "WHERE model_version_id = ? ORDER BY id" : "ORDER BY id")));
    if (modelVersionId)
        stmt.bind(1, *modelVersionId);
    std::vector<PlanRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        records.push_back(readPlan(stmt));
    }
    return records;
}

Result<std::optional<PlanRecord>> RunRepository::plan(Id planId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare(std::string(kPlanColumns) + "WHERE id = ?"));
    stmt.bind(1, planId);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return std::optional<PlanRecord>();
    return std::optional<PlanRecord>(readPlan(stmt));
}

Result<std::vector<RunRecord>> RunRepository::runs(std::optional<Id> modelVersionId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(
        Statement stmt,
        db.prepare(std::string(kRunColumns) +
                   (modelVersionId ? "WHERE model_version_id = ? ORDER BY id" : "ORDER BY id")));
    if (modelVersionId)
        stmt.bind(1, *modelVersionId);
    std::vector<RunRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        records.push_back(readRun(stmt));
    }
    return records;
}

Result<std::optional<RunRecord>> RunRepository::latestRun(Id modelVersionId)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kRunColumns) +
                                   "WHERE model_version_id = ? ORDER BY id DESC LIMIT 1"));
    stmt.bind(1, modelVersionId);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return std::optional<RunRecord>();
    return std::optional<RunRecord>(readRun(stmt));
}

} // namespace sb::store
