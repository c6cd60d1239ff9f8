#include "core/store/store_impl.h"

#include <functional>

namespace sb::store {

using detail::Statement;
using detail::Transaction;

namespace {

constexpr const char *kDeploymentColumns =
    "SELECT d.id, d.model_id, d.model_version_id, v.version, d.env, d.action, d.prior_entry_id, "
    "d.comment, d.created_at, d.created_by FROM deployments d JOIN model_versions v ON v.id = "
    "d.model_version_id JOIN models m ON m.id = d.model_id ";

// The kDeploymentColumns starting at column `first` of the row.
DeploymentRecord readDeployment(const Statement &row, int first = 0)
{
    DeploymentRecord record;
    record.id = row.columnInt(first + 0);
    record.modelId = row.columnInt(first + 1);
    record.modelVersionId = row.columnInt(first + 2);
    record.version = static_cast<int>(row.columnInt(first + 3));
    record.env = row.columnText(first + 4);
    record.action = row.columnText(first + 5);
    record.priorEntryId = row.columnOptionalInt(first + 6);
    record.comment = row.columnText(first + 7);
    record.createdAt = row.columnText(first + 8);
    record.createdBy = row.columnText(first + 9);
    return record;
}

Result<std::optional<DeploymentRecord>> queryOne(detail::Database &db, const std::string &where,
                                                 const std::function<void(Statement &)> &bind)
{
    SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare(std::string(kDeploymentColumns) + where));
    bind(stmt);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return std::optional<DeploymentRecord>();
    return std::optional<DeploymentRecord>(readDeployment(stmt));
}

Result<std::optional<DeploymentRecord>> head(detail::Database &db, Id modelId,
                                             const std::string &env)
{
    return queryOne(db, "WHERE d.model_id = ? AND d.env = ? ORDER BY d.id DESC LIMIT 1",
                    [&](Statement &stmt) { stmt.bind(1, modelId).bind(2, env); });
}

Result<Id> insertEntry(detail::Database &db, const DeploymentRecord &record)
{
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO deployments (model_id, model_version_id, env, "
                                   "action, prior_entry_id, comment, created_at, created_by) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.bind(1, record.modelId)
        .bind(2, record.modelVersionId)
        .bind(3, record.env)
        .bind(4, record.action)
        .bind(5, record.priorEntryId)
        .bind(6, record.comment)
        .bind(7, record.createdAt)
        .bind(8, record.createdBy);
    SB_TRY(insert.run());
    return db.lastInsertId();
}

Status checkEnv(const std::string &env)
{
    if (env.empty())
        return makeError(ErrorCode::InvalidInput, "an environment name is required (--env)");
    return Status::success();
}

} // namespace

Result<DeploymentRecord> DeploymentRepository::promote(const ModelVersionRecord &version,
                                                       const std::string &env,
                                                       const std::string &comment)
{
    SB_TRY(checkEnv(env));
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    SB_ASSIGN_OR_RETURN(auto current, head(db, version.modelId, env));
    if (current && current->modelVersionId == version.id)
        return makeError(ErrorCode::Conflict,
                         version.label() + " is already the active version in '" + env + "'");
    DeploymentRecord record;
    record.modelId = version.modelId;
    record.modelVersionId = version.id;
    record.version = version.version;
    record.env = env;
    record.action = "promote";
    record.priorEntryId = current ? std::optional<Id>(current->id) : std::nullopt;
    record.comment = comment;
    record.createdAt = utcNowIso8601();
    record.createdBy = impl.actor;
    SB_ASSIGN_OR_RETURN(record.id, insertEntry(db, record));
    SB_TRY(impl.appendAudit("deploy.promote", version.label(),
                            {{"env", env},
                             {"deployment_id", record.id},
                             {"previous_version", current ? Json(current->version) : Json()},
                             {"comment", comment}}));
    SB_TRY(transaction.commit());
    return record;
}

Result<DeploymentRecord> DeploymentRepository::rollback(const std::string &modelName,
                                                        const std::string &env,
                                                        const std::string &comment)
{
    SB_TRY(checkEnv(env));
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    Id modelId = 0;
    {
        SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare("SELECT id FROM models WHERE name = ?"));
        stmt.bind(1, modelName);
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            return makeError(ErrorCode::NotFound, "no model '" + modelName + "' in the registry");
        modelId = stmt.columnInt(0);
    }
    SB_ASSIGN_OR_RETURN(auto current, head(db, modelId, env));
    if (!current)
        return makeError(ErrorCode::Conflict,
                         modelName + " has never been deployed to '" + env + "'");
    if (!current->priorEntryId)
        return makeError(ErrorCode::Conflict,
                         modelName + ":" + std::to_string(current->version) +
                             " is the first version deployed to '" + env +
                             "'; there is no previous version to roll back to");
    SB_ASSIGN_OR_RETURN(auto target, queryOne(db, "WHERE d.id = ?", [&](Statement &stmt) {
                            stmt.bind(1, *current->priorEntryId);
                        }));
    if (!target)
        return makeError(ErrorCode::Internal, "deployment history entry vanished");
    DeploymentRecord record;
    record.modelId = modelId;
    record.modelVersionId = target->modelVersionId;
    record.version = target->version;
    record.env = env;
    record.action = "rollback";
    record.priorEntryId = target->priorEntryId;
    record.comment = comment;
    record.createdAt = utcNowIso8601();
    record.createdBy = impl.actor;
    SB_ASSIGN_OR_RETURN(record.id, insertEntry(db, record));
    SB_TRY(impl.appendAudit("deploy.rollback", modelName + ":" + std::to_string(record.version),
                            {{"env", env},
                             {"deployment_id", record.id},
                             {"from_version", current->version},
                             {"to_version", record.version},
                             {"comment", comment}}));
    SB_TRY(transaction.commit());
    return record;
}

Result<std::optional<DeploymentRecord>> DeploymentRepository::active(const std::string &modelName,
                                                                     const std::string &env)
{
    auto &db = m_store.impl().db;
    return queryOne(db, "WHERE m.name = ? AND d.env = ? ORDER BY d.id DESC LIMIT 1",
                    [&](Statement &stmt) { stmt.bind(1, modelName).bind(2, env); });
}

Result<std::vector<std::pair<std::string, DeploymentRecord>>>
DeploymentRepository::activeInEnv(const std::string &env)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kDeploymentColumns).substr(0, 7) + "m.name, " +
                                   std::string(kDeploymentColumns).substr(7) +
                                   "WHERE d.env = ? AND d.id = (SELECT MAX(e.id) FROM deployments "
                                   "e WHERE e.model_id = d.model_id AND e.env = d.env) "
                                   "ORDER BY m.name"));
    stmt.bind(1, env);
    std::vector<std::pair<std::string, DeploymentRecord>> out;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        // Column 0 is the model name; the deployment columns follow.
        std::string name = stmt.columnText(0);
        DeploymentRecord record = readDeployment(stmt, 1);
        out.emplace_back(std::move(name), std::move(record));
    }
    return out;
}

Result<std::vector<DeploymentRecord>> DeploymentRepository::history(const std::string &modelName,
                                                                    const std::string &env)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kDeploymentColumns) +
                                   (env.empty() ? "WHERE m.name = ? ORDER BY d.id"
                                                : "WHERE m.name = ? AND d.env = ? ORDER BY d.id")));
    stmt.bind(1, modelName);
    if (!env.empty())
        stmt.bind(2, env);
    std::vector<DeploymentRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        records.push_back(readDeployment(stmt));
    }
    return records;
}

} // namespace sb::store
