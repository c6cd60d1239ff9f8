#include "core/common/sha256.h"
#include "core/store/store_impl.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

#ifndef _WIN32
#include <pwd.h>
#include <unistd.h>
#endif

namespace sb::store {

namespace fs = std::filesystem;
using detail::Database;
using detail::Statement;

namespace {

constexpr int kBusyTimeoutMs = 5000;
// PRAGMA application_id: "SHBN". Lets us tell our files from other apps' SQLite files.
constexpr std::int64_t kApplicationId = 0x5348424e;
constexpr const char *kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string defaultActor()
{
    for (const char *name : {"SHARDBENCH_ACTOR", "USER", "LOGNAME"}) {
        if (const char *value = std::getenv(name); value && *value)
            return value;
    }
#ifndef _WIN32
    // Services and containers often run without $USER; the account name
    // still says who acted.
    if (const passwd *account = getpwuid(getuid());
        account && account->pw_name && *account->pw_name)
        return account->pw_name;
#endif
    return "unknown";
}

// Checks an existing file without changing a byte: header magic, then a
// read-only connection running quick_check and reading the schema version.
Status checkExistingFile(const fs::path &path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec))
        return makeError(ErrorCode::InvalidInput,
                         path.string() + ": is a directory, not a database file");
    auto size = fs::file_size(path, ec);
    if (ec)
        return makeError(ErrorCode::Io, path.string() + ": " + ec.message());
    if (size == 0)
        return Status::success(); // an empty file is a new database
    std::ifstream in(path, std::ios::binary);
    char header[16] = {};
    in.read(header, sizeof header);
    static const char kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                    'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
    if (in.gcount() != 16 || std::memcmp(header, kMagic, 16) != 0 || size < 512)
        return makeError(ErrorCode::InvalidInput,
                         path.string() +
                             ": not a SQLite database (bad header); the file was not modified");

    auto readOnly = Database::open(path, Database::Mode::ReadOnly);
    if (!readOnly.ok())
        return makeError(ErrorCode::InvalidInput,
                         readOnly.error().message + "; the file was not modified");
    Database &db = *readOnly;
    db.setBusyTimeout(kBusyTimeoutMs);
    auto corrupt = [&](const std::string &why) {
        return makeError(ErrorCode::InvalidInput, path.string() +
                                                      ": corrupt or unreadable SQLite database (" +
                                                      why + "); the file was not modified");
    };
    auto check = db.prepare("PRAGMA quick_check");
    if (!check.ok())
        return corrupt(check.error().message);
    auto row = check->step();
    if (!row.ok())
        return corrupt(row.error().message);
    if (!*row)
        return corrupt("quick_check returned nothing");
    std::string verdict = check->columnText(0);
    if (verdict != "ok")
        return corrupt("quick_check: " + verdict);
    auto version = db.queryInt("PRAGMA user_version");
    auto applicationId = db.queryInt("PRAGMA application_id");
    auto tables = db.queryInt("SELECT count(*) FROM sqlite_master");
    if (!version.ok() || !applicationId.ok() || !tables.ok())
        return corrupt(db.lastError());
    if (*applicationId != 0 && *applicationId != kApplicationId)
        return makeError(ErrorCode::InvalidInput, path.string() +
                                                      ": a SQLite database of another application "
                                                      "(application_id " +
                                                      std::to_string(*applicationId) +
                                                      "); the file was not modified");
    if (*applicationId == 0 && *version == 0 && *tables > 0)
        return makeError(ErrorCode::InvalidInput,
                         path.string() + ": a SQLite database that is not a Shardbench store "
                                         "(tables but no schema version); the file was not "
                                         "modified");
    if (*version > detail::migrationCount())
        return makeError(ErrorCode::Conflict,
                         path.string() + ": schema version " + std::to_string(*version) +
                             " is newer than this Shardbench knows (" +
                             std::to_string(detail::migrationCount()) +
                             "); upgrade Shardbench to use it. The file was not modified");
    return Status::success();
}

Result<Database> openConfigured(const fs::path &path, bool create)
{
    std::error_code ec;
    bool exists = fs::exists(path, ec);
    if (!exists && !create)
        return makeError(ErrorCode::NotFound, path.string() + ": no such database");
    if (exists)
        SB_TRY(checkExistingFile(path));
    else if (path.has_parent_path())
        fs::create_directories(path.parent_path(), ec);
    SB_ASSIGN_OR_RETURN(Database db, Database::open(path, Database::Mode::ReadWriteCreate));
    db.setBusyTimeout(kBusyTimeoutMs);
    SB_TRY(db.exec("PRAGMA foreign_keys = ON"));
    SB_ASSIGN_OR_RETURN(Statement mode, db.prepare("PRAGMA journal_mode = WAL"));
    SB_ASSIGN_OR_RETURN(bool gotMode, mode.step());
    if (!gotMode || mode.columnText(0) != "wal")
        return makeError(ErrorCode::Io, path.string() + ": cannot switch to WAL mode");
    SB_TRY(db.exec("PRAGMA synchronous = NORMAL"));
    return db;
}

} // namespace

std::string utcNowIso8601()
{
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buffer;
}

std::string auditCanonical(const AuditEntry &entry)
{
    Json canonical = {{"id", entry.id},
                      {"time", entry.time},
                      {"actor", entry.actor},
                      {"action", entry.action},
                      {"subject", entry.subject},
                      {"details", entry.details},
                      {"prev_hash", entry.prevHash}};
    return detail::jsonText(canonical);
}

std::string auditHash(const std::string &prevHash, const std::string &canonical)
{
    return sha256Hex(prevHash + canonical);
}

namespace detail {

std::string jsonText(const Json &value)
{
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json parseJsonText(const std::string &text)
{
    Json value = Json::parse(text, nullptr, false);
    return value.is_discarded() ? Json() : value;
}

} // namespace detail

Result<AuditEntry> Store::Impl::appendAudit(const std::string &action, const std::string &subject,
                                            const Json &details)
{
    AuditEntry entry;
    SB_ASSIGN_OR_RETURN(std::int64_t sequence,
                        db.queryInt("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE "
                                    "name = 'audit_log'), 0)"));
    SB_ASSIGN_OR_RETURN(std::int64_t maxId,
                        db.queryInt("SELECT coalesce(max(id), 0) FROM audit_log"));
    entry.id = std::max(sequence, maxId) + 1;
    entry.prevHash = kZeroHash;
    {
        SB_ASSIGN_OR_RETURN(Statement last,
                            db.prepare("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"));
        SB_ASSIGN_OR_RETURN(bool row, last.step());
        if (row)
            entry.prevHash = last.columnText(0);
    }
    entry.time = utcNowIso8601();
    entry.actor = actor;
    entry.action = action;
    entry.subject = subject;
    entry.details = details.is_null() ? Json::object() : details;
    // Round-trip through text so the hash covers exactly what is stored.
    entry.details = detail::parseJsonText(detail::jsonText(entry.details));
    entry.hash = auditHash(entry.prevHash, auditCanonical(entry));
    SB_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO audit_log (id, time, actor, action, subject, "
                                   "details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.bind(1, entry.id)
        .bind(2, entry.time)
        .bind(3, entry.actor)
        .bind(4, entry.action)
        .bind(5, entry.subject)
        .bind(6, detail::jsonText(entry.details))
        .bind(7, entry.prevHash)
        .bind(8, entry.hash);
    SB_TRY(insert.run());
    return entry;
}

Store::Store(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const fs::path &path, const OpenOptions &options)
{
    SB_ASSIGN_OR_RETURN(Database db, openConfigured(path, options.createIfMissing));
    SB_ASSIGN_OR_RETURN(std::int64_t version, db.queryInt("PRAGMA user_version"));
    if (version > detail::migrationCount()) // raced with a newer program
        return makeError(ErrorCode::Conflict, path.string() + ": schema version " +
                                                  std::to_string(version) +
                                                  " is newer than this Shardbench knows (" +
                                                  std::to_string(detail::migrationCount()) + ")");
    if (version < detail::migrationCount()) {
        SB_TRY(detail::applyMigrations(db, static_cast<int>(version), detail::migrationCount()));
        SB_TRY(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
    }
    auto impl = std::make_unique<Impl>();
    impl->db = std::move(db);
    impl->path = path;
    impl->schemaVersion = detail::migrationCount();
    impl->actor = options.actor.empty() ? defaultActor() : options.actor;
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const fs::path &Store::path() const
{
    return m_impl->path;
}

int Store::schemaVersion() const
{
    return m_impl->schemaVersion;
}

int Store::latestSchemaVersion()
{
    return detail::migrationCount();
}

const std::string &Store::actor() const
{
    return m_impl->actor;
}

void Store::setActor(std::string actor)
{
    m_impl->actor = actor.empty() ? defaultActor() : std::move(actor);
}

Result<std::optional<ModelVersionRecord>> Store::findModelVersionByFile(const fs::path &modelFile)
{
    SB_ASSIGN_OR_RETURN(std::string digest, sha256File(modelFile));
    return m_models.findBySha256(digest);
}

Result<ModelVersionRecord> Store::resolveVersion(const std::string &reference)
{
    auto colon = reference.rfind(':');
    if (colon == std::string::npos)
        return m_models.version(reference, 0);
    std::string name = reference.substr(0, colon);
    std::string number = reference.substr(colon + 1);
    int version = 0;
    try {
        std::size_t used = 0;
        version = std::stoi(number, &used);
        if (used != number.size() || version <= 0)
            throw std::invalid_argument(number);
    } catch (...) {
        return makeError(ErrorCode::InvalidInput,
                         "'" + reference + "': expected NAME or NAME:VERSION (VERSION >= 1)");
    }
    return m_models.version(name, version);
}

Result<std::map<std::string, std::int64_t>> Store::tableCounts()
{
    std::map<std::string, std::int64_t> counts;
    for (const char *table :
         {"models", "model_versions", "datasets", "plans", "runs", "evaluations", "drift_snapshots",
          "checklists", "checklist_items", "signoffs", "deployments", "audit_log"}) {
        SB_ASSIGN_OR_RETURN(std::int64_t rows,
                            m_impl->db.queryInt(std::string("SELECT count(*) FROM ") + table));
        counts[table] = rows;
    }
    return counts;
}

Status migrateDatabaseTo(const fs::path &path, int version)
{
    if (version < 0 || version > detail::migrationCount())
        return makeError(ErrorCode::InvalidInput,
                         "schema version " + std::to_string(version) + " does not exist");
    SB_ASSIGN_OR_RETURN(Database db, openConfigured(path, true));
    SB_ASSIGN_OR_RETURN(std::int64_t current, db.queryInt("PRAGMA user_version"));
    if (current > version)
        return makeError(ErrorCode::Conflict,
                         "cannot migrate down from schema v" + std::to_string(current));
    SB_TRY(detail::applyMigrations(db, static_cast<int>(current), version));
    if (version > 0)
        SB_TRY(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
    return Status::success();
}

} // namespace sb::store
