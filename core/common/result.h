// Result<T>: the value-or-error type every core API returns.
//
// Contract: no exceptions cross the core API. A function that can fail returns
// Result<T> (or Status for no value). The Error carries a code that maps onto
// the CLI exit codes and a message that names the file, line, node or column.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace sb {

enum class ErrorCode
{
    InvalidInput, // malformed file, bad argument, unknown op... (CLI exit 2)
    Unsupported,  // valid but not implemented here (op, dtype, attribute)
    NotFound,     // a named thing does not exist (file, node, model version)
    Conflict,     // refused by a rule (promotion blocked, schema too new)
    Io,           // the operating system said no
    Runtime,      // a device, rank or stage fault while running (CLI exit 4)
    Cancelled,    // the user cancelled (CLI exit 130)
    Internal,     // a bug: an invariant did not hold
};

const char *errorCodeName(ErrorCode code);

struct Error
{
    ErrorCode code = ErrorCode::Internal;
    std::string message;

    // Prefix the message with context, e.g. the file being read.
    Error withContext(const std::string &context) const
    {
        return Error{code, context + ": " + message};
    }
};

inline Error makeError(ErrorCode code, std::string message)
{
    return Error{code, std::move(message)};
}

template <typename T> class [[nodiscard]] Result
{
public:
    using value_type = T;

    Result(const T &value) : m_data(std::in_place_index<0>, value) {}
    Result(T &&value) : m_data(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) {}
    template <typename U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Error>) Result(U &&value)
        : m_data(std::in_place_index<0>, T(std::forward<U>(value)))
    {}

    bool ok() const { return m_data.index() == 0; }
    explicit operator bool() const { return ok(); }

    T &value() &
    {
        assert(ok());
        return std::get<0>(m_data);
    }
    const T &value() const &
    {
        assert(ok());
        return std::get<0>(m_data);
    }
    T &&value() &&
    {
        assert(ok());
        return std::get<0>(std::move(m_data));
    }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }

    const Error &error() const
    {
        assert(!ok());
        return std::get<1>(m_data);
    }

private:
    std::variant<T, Error> m_data;
};

// Status: success or an Error, for operations without a value.
class [[nodiscard]] Status
{
public:
    Status() = default;
    Status(Error error) : m_error(std::move(error)), m_failed(true) {}
    static Status success() { return Status(); }

    bool ok() const { return !m_failed; }
    explicit operator bool() const { return ok(); }
    const Error &error() const
    {
        assert(m_failed);
        return m_error;
    }

private:
    Error m_error;
    bool m_failed = false;
};

} // namespace sb

// Propagate an error from a Result/Status expression inside a function that
// itself returns a Result or Status.
#define SB_TRY(expr)                                                                               \
    do {                                                                                           \
        auto sbTryResult_ = (expr);                                                                \
        if (!sbTryResult_.ok())                                                                    \
            return sbTryResult_.error();                                                           \
    } while (0)

#define SB_CONCAT_INNER(a, b) a##b
#define SB_CONCAT(a, b) SB_CONCAT_INNER(a, b)
// SB_ASSIGN_OR_RETURN(auto x, makeX()); binds the value or returns the error.
#define SB_ASSIGN_OR_RETURN(decl, expr)                                                            \
    auto SB_CONCAT(sbAssignResult_, __LINE__) = (expr);                                            \
    if (!SB_CONCAT(sbAssignResult_, __LINE__).ok())                                                \
        return SB_CONCAT(sbAssignResult_, __LINE__).error();                                       \
    decl = std::move(SB_CONCAT(sbAssignResult_, __LINE__)).value()
