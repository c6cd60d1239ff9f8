// Long work off the GUI thread. A TaskRunner starts core calls on the global
// thread pool with a progress callback and a cancel token, forwards progress to
// the GUI thread (throttled), and delivers the result to a context object on
// the GUI thread. The GUI thread never waits for a task.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"

#include <QElapsedTimer>
#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QRunnable>
#include <QString>
#include <QThreadPool>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

namespace sb::ui {

// The per-task state shared between the worker and the GUI thread.
class TaskState
{
public:
    CancelToken token;
    QString title;
    std::atomic<int> id{0};
};

class TaskRunner : public QObject
{
    Q_OBJECT
public:
    explicit TaskRunner(QObject *parent = nullptr);
    ~TaskRunner() override;

    // Runs `work` on a pool thread. `done` runs on the GUI thread in `context`
    // (dropped if the context died). Returns the task id.
    template <typename T>
    int start(const QString &title,
              std::function<Result<T>(const ProgressFn &, const CancelToken &)> work,
              QObject *context, std::function<void(Result<T>)> done)
    {
        auto state = beginTask(title);
        // Read on the GUI thread only. The worker touches no QObject: it posts
        // the result to this runner, which outlives every job (its destructor
        // waits for the pool) and drops the result if `context` died.
        QPointer<QObject> guard(context);
        ProgressFn progress = makeProgress(state);
        auto job = [this, state, work = std::move(work), done = std::move(done), guard,
                    progress]() mutable {
            auto result = std::make_shared<Result<T>>(work(progress, state->token));
            QMetaObject::invokeMethod(
                this,
                [this, state, result, done, guard]() {
                    // Deliver first, so follow-up tasks start before busy drops.
                    if (guard)
                        done(std::move(*result));
                    endTask(state);
                },
                Qt::QueuedConnection);
        };
        m_pool.start(QRunnable::create(std::move(job)));
        return state->id;
    }

    // Cancels every running task (each worker notices at its next poll).
    void cancelAll();
    void cancel(int id);
    int runningCount() const;
    // Waits for all pool threads; only for shutdown and tests.
    bool waitForDone(int msecs = -1);

signals:
    void taskStarted(int id, const QString &title);
    void taskProgress(int id, double fraction, const QString &message);
    void taskFinished(int id, const QString &title);
    void busyChanged(bool busy);

private:
    std::shared_ptr<TaskState> beginTask(const QString &title);
    void endTask(const std::shared_ptr<TaskState> &state);
    ProgressFn makeProgress(const std::shared_ptr<TaskState> &state);

    QThreadPool m_pool;
    std::vector<std::shared_ptr<TaskState>> m_running;
    int m_nextId = 1;
};

} // namespace sb::ui
