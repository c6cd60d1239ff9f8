// Progress and cancellation for long core work. The caller owns the token and
// may cancel from any thread; the worker polls isCancelled() between units of
// work and returns ErrorCode::Cancelled.
#pragma once

#include <atomic>
#include <functional>
#include <string>

namespace sb {

class CancelToken
{
public:
    void cancel() { m_cancelled.store(true, std::memory_order_relaxed); }
    bool isCancelled() const { return m_cancelled.load(std::memory_order_relaxed); }
    void reset() { m_cancelled.store(false, std::memory_order_relaxed); }

private:
    std::atomic<bool> m_cancelled{false};
};

// fraction in [0, 1]; message is a short human-readable phase name.
using ProgressFn = std::function<void(double fraction, const std::string &message)>;

} // namespace sb
