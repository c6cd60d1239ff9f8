#include "core/common/paths.h"

#include <cstdlib>
#include <system_error>

#ifndef SHARDBENCH_SOURCE_RESOURCES
#define SHARDBENCH_SOURCE_RESOURCES ""
#endif

namespace sb {

namespace fs = std::filesystem;

fs::path resourceDir()
{
    if (const char *env = std::getenv("SHARDBENCH_RESOURCES"); env && *env)
        return fs::path(env);
    fs::path baked(SHARDBENCH_SOURCE_RESOURCES);
    std::error_code ec;
    if (!baked.empty() && fs::is_directory(baked, ec))
        return baked;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path installed = exe.parent_path().parent_path() / "share" / "shardbench";
        if (fs::is_directory(installed, ec))
            return installed;
    }
    return fs::path("resources");
}

fs::path userDataDir()
{
    fs::path base;
    if (const char *xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        base = xdg;
    else if (const char *home = std::getenv("HOME"); home && *home)
        base = fs::path(home) / ".local" / "share";
    else
        base = fs::temp_directory_path();
    fs::path dir = base / "shardbench";
    std::error_code ec;
    fs::create_directories(dir, ec);
    return dir;
}

fs::path defaultDatabasePath()
{
    return userDataDir() / "shardbench.db";
}

fs::path demoClassifierPath()
{
    return resourceDir() / "demo" / "classifier.onnx";
}

fs::path demoDecoderPath()
{
    return resourceDir() / "demo" / "decoder.onnx";
}

} // namespace sb
