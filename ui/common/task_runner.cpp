#include "ui/common/task_runner.h"

#include <QThread>

#include <algorithm>
#include <chrono>

namespace sb::ui {

TaskRunner::TaskRunner(QObject *parent) : QObject(parent)
{
    // Runs and layouts may overlap; keep one thread free for short tasks.
    m_pool.setMaxThreadCount(std::max(2, QThread::idealThreadCount()));
}

TaskRunner::~TaskRunner()
{
    cancelAll();
    m_pool.waitForDone();
}

std::shared_ptr<TaskState> TaskRunner::beginTask(const QString &title)
{
    auto state = std::make_shared<TaskState>();
    state->title = title;
    state->id = m_nextId++;
    const bool wasIdle = m_running.empty();
    m_running.push_back(state);
    emit taskStarted(state->id, title);
    if (wasIdle)
        emit busyChanged(true);
    return state;
}

void TaskRunner::endTask(const std::shared_ptr<TaskState> &state)
{
    std::erase(m_running, state);
    emit taskFinished(state->id, state->title);
    if (m_running.empty())
        emit busyChanged(false);
}

ProgressFn TaskRunner::makeProgress(const std::shared_ptr<TaskState> &state)
{
    // Throttled: at most one queued update every 50 ms, plus the final one.
    struct Throttle
    {
        std::mutex mutex;
        std::chrono::steady_clock::time_point last{};
    };
    auto throttle = std::make_shared<Throttle>();
    return [this, state, throttle](double fraction, const std::string &message) {
        {
            std::lock_guard lock(throttle->mutex);
            const auto now = std::chrono::steady_clock::now();
            if (fraction < 1.0 && now - throttle->last < std::chrono::milliseconds(50))
                return;
            throttle->last = now;
        }
        // Posted, never read here: the runner outlives every job.
        const QString text = QString::fromStdString(message);
        const int id = state->id;
        QMetaObject::invokeMethod(
            this, [this, id, fraction, text]() { emit taskProgress(id, fraction, text); },
            Qt::QueuedConnection);
    };
}

void TaskRunner::cancelAll()
{
    for (const auto &state : m_running)
        state->token.cancel();
}

void TaskRunner::cancel(int id)
{
    for (const auto &state : m_running)
        if (state->id == id)
            state->token.cancel();
}

int TaskRunner::runningCount() const
{
    return static_cast<int>(m_running.size());
}

bool TaskRunner::waitForDone(int msecs)
{
    return m_pool.waitForDone(msecs);
}

} // namespace sb::ui
