#include "ui/common/store_access.h"

#include "core/common/paths.h"

#include <cstdlib>
#include <mutex>

namespace sb::ui {

namespace {
std::mutex g_mutex;
std::filesystem::path g_path;
} // namespace

std::filesystem::path guiDatabasePath()
{
    std::lock_guard lock(g_mutex);
    if (!g_path.empty())
        return g_path;
    if (const char *env = std::getenv("SHARDBENCH_DB"); env && *env)
        return env;
    return defaultDatabasePath();
}

void setGuiDatabasePath(const std::filesystem::path &path)
{
    std::lock_guard lock(g_mutex);
    g_path = path;
}

} // namespace sb::ui
