#include "core/store/database.h"

#include <sqlite3.h>

#include <utility>

namespace sb::store::detail {

namespace {

Error sqliteError(sqlite3 *db, const std::string &what)
{
    int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    ErrorCode errorCode = ErrorCode::Io;
    switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        errorCode = ErrorCode::InvalidInput;
        break;
    case SQLITE_CONSTRAINT:
        errorCode = ErrorCode::Conflict;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_FULL:
        errorCode = ErrorCode::Io;
        break;
    default:
        errorCode = ErrorCode::Internal;
        break;
    }
    return makeError(errorCode, what + ": " + message);
}

} // namespace

Statement::~Statement()
{
    if (m_stmt)
        sqlite3_finalize(m_stmt);
}

Statement::Statement(Statement &&other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_stmt(std::exchange(other.m_stmt, nullptr))
{}

Statement &Statement::operator=(Statement &&other) noexcept
{
    if (this != &other) {
        if (m_stmt)
            sqlite3_finalize(m_stmt);
        m_db = std::exchange(other.m_db, nullptr);
        m_stmt = std::exchange(other.m_stmt, nullptr);
    }
    return *this;
}

Statement &Statement::bind(int index, std::int64_t value)
{
    sqlite3_bind_int64(m_stmt, index, value);
    return *this;
}

Statement &Statement::bind(int index, double value)
{
    sqlite3_bind_double(m_stmt, index, value);
    return *this;
}

Statement &Statement::bind(int index, std::string_view text)
{
    sqlite3_bind_text(m_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement &Statement::bind(int index, std::optional<std::int64_t> value)
{
    if (value)
        return bind(index, *value);
    return bindNull(index);
}

Statement &Statement::bindNull(int index)
{
    sqlite3_bind_null(m_stmt, index);
    return *this;
}

Result<bool> Statement::step()
{
    int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    return sqliteError(m_db, "SQL step");
}

Status Statement::run()
{
    for (;;) {
        auto row = step();
        if (!row.ok())
            return row.error();
        if (!*row)
            return Status::success();
    }
}

void Statement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

std::int64_t Statement::columnInt(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

double Statement::columnDouble(int column) const
{
    return sqlite3_column_double(m_stmt, column);
}

std::string Statement::columnText(int column) const
{
    const unsigned char *text = sqlite3_column_text(m_stmt, column);
    if (!text)
        return {};
    return std::string(reinterpret_cast<const char *>(text),
                       static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column)));
}

bool Statement::columnIsNull(int column) const
{
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

std::optional<std::int64_t> Statement::columnOptionalInt(int column) const
{
    if (columnIsNull(column))
        return std::nullopt;
    return columnInt(column);
}

Result<Database> Database::open(const std::filesystem::path &path, Mode mode)
{
    int flags = SQLITE_OPEN_NOMUTEX;
    switch (mode) {
    case Mode::ReadOnly:
        flags |= SQLITE_OPEN_READONLY;
        break;
    case Mode::ReadWrite:
        flags |= SQLITE_OPEN_READWRITE;
        break;
    case Mode::ReadWriteCreate:
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        break;
    }
    sqlite3 *handle = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
    Database db;
    db.m_db = handle; // owned even on failure, so it is closed
    db.m_path = path;
    if (rc != SQLITE_OK)
        return sqliteError(handle, path.string() + ": cannot open database");
    sqlite3_extended_result_codes(handle, 1);
    return db;
}

Database::~Database()
{
    if (m_db)
        sqlite3_close_v2(m_db);
}

Database::Database(Database &&other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_path(std::move(other.m_path))
{}

Database &Database::operator=(Database &&other) noexcept
{
    if (this != &other) {
        if (m_db)
            sqlite3_close_v2(m_db);
        m_db = std::exchange(other.m_db, nullptr);
        m_path = std::move(other.m_path);
    }
    return *this;
}

Result<Statement> Database::prepare(std::string_view sql)
{
    sqlite3_stmt *stmt = nullptr;
    int rc = sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) {
        if (stmt)
            sqlite3_finalize(stmt);
        return sqliteError(m_db, "SQL prepare '" + std::string(sql.substr(0, 60)) + "'");
    }
    return Statement(m_db, stmt);
}

Status Database::exec(std::string_view sql)
{
    std::string text(sql);
    char *message = nullptr;
    int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &message);
    if (message)
        sqlite3_free(message);
    if (rc != SQLITE_OK)
        return sqliteError(m_db, "SQL '" + text.substr(0, 60) + "'");
    return Status::success();
}

Result<std::int64_t> Database::queryInt(std::string_view sql)
{
    SB_ASSIGN_OR_RETURN(Statement stmt, prepare(sql));
    SB_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row)
        return makeError(ErrorCode::Internal, "query returned no row: " + std::string(sql));
    return stmt.columnInt(0);
}

std::int64_t Database::lastInsertId() const
{
    return sqlite3_last_insert_rowid(m_db);
}

void Database::setBusyTimeout(int milliseconds)
{
    sqlite3_busy_timeout(m_db, milliseconds);
}

std::string Database::lastError() const
{
    return m_db ? sqlite3_errmsg(m_db) : "";
}

Result<Transaction> Transaction::begin(Database &db)
{
    SB_TRY(db.exec("BEGIN IMMEDIATE"));
    return Transaction(db);
}

Transaction::~Transaction()
{
    if (m_db && !m_done)
        (void)m_db->exec("ROLLBACK");
}

Transaction::Transaction(Transaction &&other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_done(other.m_done)
{}

Status Transaction::commit()
{
    Status status = m_db->exec("COMMIT");
    if (status.ok())
        m_done = true; // on failure the destructor rolls back
    return status;
}

} // namespace sb::store::detail
