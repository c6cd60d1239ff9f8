#include "core/workflows/register_model.h"

#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"

#include <system_error>

namespace sb::workflows {

namespace fs = std::filesystem;

Result<store::ModelVersionRecord> registerModelFile(store::Store &store, const fs::path &file,
                                                    const std::string &modelName,
                                                    const std::string &notes)
{
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        return makeError(ErrorCode::NotFound, file.string() + ": no such model file");
    // Metadata only: no shape inference or display blocks are needed.
    graph::ImportOptions options;
    options.runShapeInference = false;
    options.groupBlocks = false;
    SB_ASSIGN_OR_RETURN(auto graph, graph::importOnnxFile(file, options));
    store::NewModelVersion input;
    input.modelName = modelName;
    input.filePath = fs::absolute(file, ec).lexically_normal().string();
    SB_ASSIGN_OR_RETURN(input.sha256, sha256File(file));
    input.sizeBytes = static_cast<std::int64_t>(fs::file_size(file, ec));
    input.producer =
        graph->producerName + (graph->producerVersion.empty() ? "" : " " + graph->producerVersion);
    input.opsets = store::Json::object();
    for (const auto &[domain, version] : graph->opsets)
        input.opsets[domain.empty() ? "ai.onnx" : domain] = version;
    input.notes = notes;
    return store.registerModelVersion(input);
}

Result<FoundOrRegistered> findOrRegisterModelFile(store::Store &store, const fs::path &file,
                                                  const std::string &modelName,
                                                  const std::string &notes)
{
    SB_ASSIGN_OR_RETURN(auto existing, store.findModelVersionByFile(file));
    if (existing)
        return FoundOrRegistered{*existing, false};
    SB_ASSIGN_OR_RETURN(auto version, registerModelFile(store, file, modelName, notes));
    return FoundOrRegistered{std::move(version), true};
}

} // namespace sb::workflows
