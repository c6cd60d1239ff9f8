// Internal to core/store: RAII wrappers over the SQLite C API. Only forward
// declarations of SQLite types appear here; sqlite3.h stays in the .cpp files.
#pragma once

#include "core/common/result.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace sb::store::detail {

class Statement
{
public:
    Statement() = default;
    Statement(sqlite3 *db, sqlite3_stmt *stmt) : m_db(db), m_stmt(stmt) {}
    ~Statement();
    Statement(Statement &&other) noexcept;
    Statement &operator=(Statement &&other) noexcept;
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;

    // Binding is 1-based like SQLite's; chainable.
    Statement &bind(int index, std::int64_t value);
    Statement &bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement &bind(int index, double value);
    Statement &bind(int index, std::string_view text);
    Statement &bind(int index, const std::string &text)
    {
        return bind(index, std::string_view(text));
    }
    Statement &bind(int index, const char *text) { return bind(index, std::string_view(text)); }
    Statement &bind(int index, std::optional<std::int64_t> value);
    Statement &bindNull(int index);

    // true: a row is available; false: done. Errors carry SQLite's message.
    Result<bool> step();
    // Runs to completion (for INSERT/UPDATE/DELETE).
    Status run();
    // Ready to run again with new bindings.
    void reset();

    std::int64_t columnInt(int column) const;
    double columnDouble(int column) const;
    std::string columnText(int column) const;
    bool columnIsNull(int column) const;
    std::optional<std::int64_t> columnOptionalInt(int column) const;

private:
    sqlite3 *m_db = nullptr;
    sqlite3_stmt *m_stmt = nullptr;
};

class Database
{
public:
    enum class Mode
    {
        ReadOnly,
        ReadWrite,
        ReadWriteCreate
    };

    static Result<Database> open(const std::filesystem::path &path, Mode mode);
    Database() = default;
    ~Database();
    Database(Database &&other) noexcept;
    Database &operator=(Database &&other) noexcept;
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    bool isOpen() const { return m_db != nullptr; }
    Result<Statement> prepare(std::string_view sql);
    // Runs one or more statements without results.
    Status exec(std::string_view sql);
    Result<std::int64_t> queryInt(std::string_view sql);
    std::int64_t lastInsertId() const;
    void setBusyTimeout(int milliseconds);
    std::string lastError() const;
    const std::filesystem::path &path() const { return m_path; }

private:
    sqlite3 *m_db = nullptr;
    std::filesystem::path m_path;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back in the destructor unless committed.
class Transaction
{
public:
    static Result<Transaction> begin(Database &db);
    ~Transaction();
    Transaction(Transaction &&other) noexcept;
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;
    Transaction &operator=(Transaction &&) = delete;
    Status commit();

private:
    explicit Transaction(Database &db) : m_db(&db) {}
    Database *m_db = nullptr;
    bool m_done = false;
};

} // namespace sb::store::detail
