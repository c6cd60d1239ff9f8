#include "core/store/store_impl.h"

namespace sb::store {

using detail::parseJsonText;
using detail::Statement;
using detail::Transaction;

namespace {

constexpr const char *kVersionColumns =
    "SELECT v.id, v.model_id, m.name, v.version, v.file_path, v.sha256, v.size_bytes, "
    "v.producer, v.opsets, v.notes, v.created_at, v.created_by "
    "FROM model_versions v JOIN models m ON m.id = v.model_id ";

ModelVersionRecord readVersion(const Statement &row)
{
    ModelVersionRecord record;
    record.id = row.columnInt(0);
    record.modelId = row.columnInt(1);
    record.modelName = row.columnText(2);
    record.version = static_cast<int>(row.columnInt(3));
    record.filePath = row.columnText(4);
    record.sha256 = row.columnText(5);
    record.sizeBytes = row.columnInt(6);
    record.producer = row.columnText(7);
    record.opsets = parseJsonText(row.columnText(8));
    record.notes = row.columnText(9);
    record.createdAt = row.columnText(10);
    record.createdBy = row.columnText(11);
    return record;
}

Result<std::vector<ModelVersionRecord>> readVersions(Statement &stmt)
{
    std::vector<ModelVersionRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        records.push_back(readVersion(stmt));
    }
    return records;
}

} // namespace

Result<ModelVersionRecord> ModelRepository::addVersion(const NewModelVersion &input)
{
    if (input.modelName.empty() || input.modelName.find(':') != std::string::npos)
        return makeError(ErrorCode::InvalidInput,
                         "model name '" + input.modelName + "' must be non-empty without ':'");
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    std::string now = utcNowIso8601();
    {
        SB_ASSIGN_OR_RETURN(Statement insert,
                            db.prepare("INSERT OR IGNORE INTO models (name, created_at, "
                                       "created_by) VALUES (?, ?, ?)"));
        insert.bind(1, input.modelName).bind(2, now).bind(3, impl.actor);
        SB_TRY(insert.run());
    }
    Id modelId = 0;
    int version = 1;
    {
        SB_ASSIGN_OR_RETURN(Statement query,
                            db.prepare("SELECT m.id, coalesce(max(v.version), 0) FROM models m "
                                       "LEFT JOIN model_versions v ON v.model_id = m.id "
                                       "WHERE m.name = ? GROUP BY m.id"));
        query.bind(1, input.modelName);
        SB_ASSIGN_OR_RETURN(bool row, query.step());
        if (!row)
            return makeError(ErrorCode::Internal, "model row vanished");
        modelId = query.columnInt(0);
        version = static_cast<int>(query.columnInt(1)) + 1;
    }
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO model_versions (model_id, version, file_path, "
                                   "sha256, size_bytes, producer, opsets, notes, created_at, "
                                   "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.bind(1, modelId)
        .bind(2, version)
        .bind(3, input.filePath)
        .bind(4, input.sha256)
        .bind(5, input.sizeBytes)
        .bind(6, input.producer)
        .bind(7, detail::jsonText(input.opsets))
        .bind(8, input.notes)
        .bind(9, now)
        .bind(10, impl.actor);
    SB_TRY(insert.run());
    ModelVersionRecord record;
    record.id = db.lastInsertId();
    record.modelId = modelId;
    record.modelName = input.modelName;
    record.version = version;
    record.filePath = input.filePath;
    record.sha256 = input.sha256;
    record.sizeBytes = input.sizeBytes;
    record.producer = input.producer;
    record.opsets = input.opsets;
    record.notes = input.notes;
    record.createdAt = now;
    record.createdBy = impl.actor;
    SB_TRY(impl.appendAudit("registry.add", record.label(),
                            {{"file", record.filePath},
                             {"sha256", record.sha256},
                             {"size_bytes", record.sizeBytes},
                             {"producer", record.producer},
                             {"opsets", record.opsets},
                             {"notes", record.notes}}));
    SB_TRY(transaction.commit());
    return record;
}

Result<std::vector<ModelRecord>> ModelRepository::list()
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("SELECT m.id, m.name, m.created_at, count(v.id), "
                                   "coalesce(max(v.version), 0) FROM models m LEFT JOIN "
                                   "model_versions v ON v.model_id = m.id GROUP BY m.id "
                                   "ORDER BY m.name"));
    std::vector<ModelRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        ModelRecord record;
        record.id = stmt.columnInt(0);
        record.name = stmt.columnText(1);
        record.createdAt = stmt.columnText(2);
        record.versionCount = static_cast<int>(stmt.columnInt(3));
        record.latestVersion = static_cast<int>(stmt.columnInt(4));
        records.push_back(std::move(record));
    }
    return records;
}

Result<std::vector<ModelVersionRecord>> ModelRepository::versions(const std::string &modelName)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt, db.prepare(std::string(kVersionColumns) +
                                                   "WHERE m.name = ? ORDER BY v.version"));
    stmt.bind(1, modelName);
    return readVersions(stmt);
}

Result<ModelVersionRecord> ModelRepository::version(const std::string &modelName, int version)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kVersionColumns) +
                                   (version > 0 ? "WHERE m.name = ? AND v.version = ?"
                                                : "WHERE m.name = ? ORDER BY v.version DESC "
                                                  "LIMIT 1")));
    stmt.bind(1, modelName);
    if (version > 0)
        stmt.bind(2, version);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return makeError(ErrorCode::NotFound, version > 0
                                                  ? "no model version " + modelName + ":" +
                                                        std::to_string(version) + " in the registry"
                                                  : "no model '" + modelName + "' in the registry");
    return readVersion(stmt);
}

Result<ModelVersionRecord> ModelRepository::versionById(Id id)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare(std::string(kVersionColumns) + "WHERE v.id = ?"));
    stmt.bind(1, id);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return makeError(ErrorCode::NotFound, "no model version with id " + std::to_string(id));
    return readVersion(stmt);
}

Result<std::optional<ModelVersionRecord>> ModelRepository::findBySha256(const std::string &sha256)
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(
        Statement stmt,
        db.prepare(std::string(kVersionColumns) + "WHERE v.sha256 = ? ORDER BY v.id DESC LIMIT 1"));
    stmt.bind(1, sha256);
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return std::optional<ModelVersionRecord>();
    return std::optional<ModelVersionRecord>(readVersion(stmt));
}

Result<DatasetRecord> DatasetRepository::add(const DatasetRecord &input)
{
    auto &impl = m_store.impl();
    auto &db = impl.db;
    SB_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    {
        SB_ASSIGN_OR_RETURN(Statement find,
                            db.prepare("SELECT id, row_count, schema, created_at, created_by FROM "
                                       "datasets WHERE path = ? AND sha256 = ?"));
        find.bind(1, input.path).bind(2, input.sha256);
        SB_ASSIGN_OR_RETURN(bool row, find.step());
        if (row) {
            DatasetRecord existing = input;
            existing.id = find.columnInt(0);
            existing.rowCount = find.columnInt(1);
            existing.schema = parseJsonText(find.columnText(2));
            existing.createdAt = find.columnText(3);
            existing.createdBy = find.columnText(4);
            SB_TRY(transaction.commit());
            return existing;
        }
    }
    DatasetRecord record = input;
    record.createdAt = utcNowIso8601();
    record.createdBy = impl.actor;
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO datasets (path, sha256, row_count, schema, "
                                   "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)"));
    insert.bind(1, record.path)
        .bind(2, record.sha256)
        .bind(3, record.rowCount)
        .bind(4, detail::jsonText(record.schema))
        .bind(5, record.createdAt)
        .bind(6, record.createdBy);
    SB_TRY(insert.run());
    record.id = db.lastInsertId();
    SB_TRY(impl.appendAudit(
        "dataset.add", record.path,
        {{"dataset_id", record.id}, {"sha256", record.sha256}, {"row_count", record.rowCount}}));
    SB_TRY(transaction.commit());
    return record;
}

Result<std::vector<DatasetRecord>> DatasetRepository::list()
{
    auto &db = m_store.impl().db;
    SB_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("SELECT id, path, sha256, row_count, schema, created_at, "
                                   "created_by FROM datasets ORDER BY id"));
    std::vector<DatasetRecord> records;
    for (;;) {
        SB_ASSIGN_OR_RETURN(bool row, stmt.step());
        if (!row)
            break;
        DatasetRecord record;
        record.id = stmt.columnInt(0);
        record.path = stmt.columnText(1);
        record.sha256 = stmt.columnText(2);
        record.rowCount = stmt.columnInt(3);
        record.schema = parseJsonText(stmt.columnText(4));
        record.createdAt = stmt.columnText(5);
        record.createdBy = stmt.columnText(6);
        records.push_back(std::move(record));
    }
    return records;
}

} // namespace sb::store
