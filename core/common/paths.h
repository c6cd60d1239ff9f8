// Where Shardbench finds its bundled resources and keeps its per-user data.
#pragma once

#include <filesystem>

namespace sb {

// The resources/ folder: $SHARDBENCH_RESOURCES if set, else the source tree's
// resources/ (baked in at build time), else <exe dir>/../share/shardbench.
std::filesystem::path resourceDir();

// $XDG_DATA_HOME/shardbench or ~/.local/share/shardbench (created on demand).
std::filesystem::path userDataDir();

// The embedded default database: userDataDir()/shardbench.db.
std::filesystem::path defaultDatabasePath();

// The demo model shipped in resources/demo.
std::filesystem::path demoClassifierPath();
std::filesystem::path demoDecoderPath();

} // namespace sb
