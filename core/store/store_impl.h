// Internal to core/store: the state behind Store and helpers shared by the
// repositories (JSON columns, audit append inside an open transaction).
#pragma once

#include "core/store/database.h"
#include "core/store/store.h"

namespace sb::store {

struct Store::Impl
{
    detail::Database db;
    std::filesystem::path path;
    int schemaVersion = 0;
    std::string actor;

    // Appends one audit entry. Must run inside an open BEGIN IMMEDIATE
    // transaction so the chain head cannot move underneath.
    Result<AuditEntry> appendAudit(const std::string &action, const std::string &subject,
                                   const Json &details);
};

namespace detail {

// JSON <-> TEXT columns. Invalid UTF-8 is replaced rather than thrown.
std::string jsonText(const Json &value);
Json parseJsonText(const std::string &text);

// "PRAGMA user_version" steps; index i upgrades version i to i + 1.
int migrationCount();
Status applyMigrations(Database &db, int fromVersion, int toVersion);

} // namespace detail
} // namespace sb::store
