// Registering an ONNX model file in the store: the one definition the
// Registry page, the Evaluation page, `registry add` and the demo use.
#pragma once

#include "core/common/result.h"
#include "core/store/store.h"

#include <filesystem>
#include <string>

namespace sb::workflows {

// Imports `file` first (a file that is not a valid ONNX model is refused with
// the importer's error, naming the file; nothing is written), then records a
// new version of `modelName` with the file's absolute path, sha256, size,
// producer ("name version") and opsets ({domain: version}, "" -> "ai.onnx").
[[nodiscard]] Result<store::ModelVersionRecord> registerModelFile(store::Store &store,
                                                                  const std::filesystem::path &file,
                                                                  const std::string &modelName,
                                                                  const std::string &notes);

struct FoundOrRegistered
{
    store::ModelVersionRecord version;
    bool registered = false; // false: the file was registered before
};

// The version already registered for this file (same path), else
// registerModelFile(store, file, modelName, notes).
[[nodiscard]] Result<FoundOrRegistered> findOrRegisterModelFile(store::Store &store,
                                                                const std::filesystem::path &file,
                                                                const std::string &modelName,
                                                                const std::string &notes);

} // namespace sb::workflows
