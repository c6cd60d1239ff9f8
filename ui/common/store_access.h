// Where the GUI's store lives and how pages reach it: each call opens the
// SQLite file on the worker thread that uses it (a Store is single-threaded;
// WAL lets the GUI and the CLI share the file).
#pragma once

#include "core/common/result.h"

#include <QString>

#include <filesystem>

namespace sb::ui {

// The database the GUI uses: $SHARDBENCH_DB, else the embedded default.
std::filesystem::path guiDatabasePath();
void setGuiDatabasePath(const std::filesystem::path &path);

} // namespace sb::ui

#include "core/store/store.h"
#include "ui/common/task_runner.h"

namespace sb::ui {

// Runs `work` against a store opened on the worker thread; `done` on the GUI.
template <typename T>
int runWithStore(TaskRunner *tasks, const QString &title,
                 std::function<Result<T>(store::Store &, const CancelToken &)> work,
                 QObject *context, std::function<void(Result<T>)> done)
{
    const auto path = guiDatabasePath();
    return tasks->start<T>(
        title,
        [path, work = std::move(work)](const ProgressFn &, const CancelToken &cancel) -> Result<T> {
            auto opened = store::Store::open(path);
            if (!opened.ok())
                return opened.error().withContext(path.string());
            return work(**opened, cancel);
        },
        context, std::move(done));
}

} // namespace sb::ui
