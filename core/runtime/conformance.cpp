#include "core/runtime/conformance.h"

#include "core/graph/onnx_import.h"
#include "core/graph/tensor_proto.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <regex>

namespace sb::runtime {

namespace fs = std::filesystem;

const char *outcomeName(ConformanceCase::Outcome outcome)
{
    switch (outcome) {
    case ConformanceCase::Outcome::Passed:
        return "passed";
    case ConformanceCase::Outcome::Failed:
        return "failed";
    case ConformanceCase::Outcome::Unsupported:
        return "unsupported";
    }
    return "failed";
}

Result<std::vector<fs::path>> findConformanceCases(const std::vector<fs::path> &roots)
{
    std::vector<fs::path> cases;
    for (const fs::path &root : roots) {
        std::error_code ec;
        if (!fs::is_directory(root, ec))
            return makeError(ErrorCode::InvalidInput, root.string() + ": not a folder");
        if (fs::exists(root / "model.onnx", ec)) {
            cases.push_back(root);
            continue;
        }
        for (auto it = fs::recursive_directory_iterator(
                 root, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec)
                break;
            if (it->is_regular_file(ec) && it->path().filename() == "model.onnx")
                cases.push_back(it->path().parent_path());
        }
    }
    std::sort(cases.begin(), cases.end());
    cases.erase(std::unique(cases.begin(), cases.end()), cases.end());
    return cases;
}

namespace {

// input_0.pb, input_1.pb ... sorted by their number.
std::vector<fs::path> numbered(const fs::path &dir, const std::string &prefix)
{
    std::vector<std::pair<int, fs::path>> files;
    std::regex pattern(prefix + "_([0-9]+)\\.pb");
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(dir, ec)) {
        std::smatch match;
        std::string name = entry.path().filename().string();
        if (std::regex_match(name, match, pattern))
            files.emplace_back(std::stoi(match[1].str()), entry.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<fs::path> paths;
    for (auto &[index, path] : files)
        paths.push_back(path);
    return paths;
}

// The runtime value of a stored tensor, sequence or optional.
Tensor toRuntimeValue(const graph::ValueData &value)
{
    switch (value.kind) {
    case graph::ValueKind::Tensor:
        return Tensor::fromTensorData(value.tensor);
    case graph::ValueKind::Sequence: {
        std::vector<Tensor> elements;
        for (const auto &element : value.elements)
            elements.push_back(toRuntimeValue(element));
        return Tensor::sequence(value.elementType, std::move(elements));
    }
    case graph::ValueKind::Optional:
        return Tensor::optional(value.elementType,
                                value.elements.empty() ? Tensor()
                                                       : toRuntimeValue(value.elements.front()),
                                value.optionalOf);
    }
    return {};
}

// The element type that makes a stored value unrunnable (strings), if any.
std::optional<ElementType> unrunnableType(const graph::ValueData &value)
{
    if (value.kind == graph::ValueKind::Tensor) {
        ElementType type = value.tensor->type();
        if (type == ElementType::String || graph::elementSize(type) == 0)
            return type;
        return std::nullopt;
    }
    for (const auto &element : value.elements)
        if (auto type = unrunnableType(element))
            return type;
    return std::nullopt;
}

void markUnsupported(ConformanceCase &result, const std::string &reason)
{
    result.outcome = ConformanceCase::Outcome::Unsupported;
    result.reason = reason;
}

} // namespace

ConformanceCase runConformanceCase(const fs::path &caseDir, Device &device,
                                   const ConformanceOptions &options)
{
    ConformanceCase result;
    result.dir = caseDir;
    result.name = caseDir.filename().string();
    try {
        graph::ImportOptions importOptions;
        importOptions.groupBlocks = false;
        auto graph = graph::importOnnxFile(caseDir / "model.onnx", importOptions);
        if (!graph) {
            markUnsupported(result, "import: " + graph.error().message);
            return result;
        }
        auto executor = Executor::create(*graph, device, options.executor);
        if (!executor) {
            if (executor.error().code == ErrorCode::Unsupported)
                markUnsupported(result, executor.error().message);
            else
                result.reason = executor.error().message;
            return result;
        }
        std::vector<fs::path> dataSets;
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(caseDir, ec))
            if (entry.is_directory() &&
                entry.path().filename().string().rfind("test_data_set_", 0) == 0)
                dataSets.push_back(entry.path());
        std::sort(dataSets.begin(), dataSets.end());
        if (dataSets.empty()) {
            result.reason = "no test_data_set_N folder";
            return result;
        }
        const auto &inputNames = (*executor)->inputNames();
        const auto &outputNames = (*executor)->outputNames();
        for (const fs::path &dataSet : dataSets) {
            auto inputFiles = numbered(dataSet, "input");
            auto outputFiles = numbered(dataSet, "output");
            if (inputFiles.size() != inputNames.size()) {
                markUnsupported(result, "data set has " + std::to_string(inputFiles.size()) +
                                            " inputs, the graph " +
                                            std::to_string(inputNames.size()) +
                                            " (optional or sequence inputs)");
                return result;
            }
            TensorMap inputs;
            for (std::size_t i = 0; i < inputFiles.size(); ++i) {
                const graph::TensorInfo &info = (*executor)->valueInfo(inputNames[i]);
                auto stored = graph::readValueProtoFile(inputFiles[i], info);
                if (!stored) {
                    markUnsupported(result, "input " + inputFiles[i].filename().string() + ": " +
                                                stored.error().message);
                    return result;
                }
                if (auto type = unrunnableType(*stored)) {
                    markUnsupported(result, std::string("input element type ") +
                                                graph::elementTypeName(*type));
                    return result;
                }
                ElementType declared = info.type;
                if (stored->kind == graph::ValueKind::Tensor &&
                    declared != ElementType::Undefined && declared != stored->elementType) {
                    markUnsupported(
                        result, "input " + inputFiles[i].filename().string() + " is stored as " +
                                    graph::elementTypeName(stored->elementType) +
                                    " but the model declares " + graph::elementTypeName(declared));
                    return result;
                }
                inputs[inputNames[i]] = toRuntimeValue(*stored);
            }
            auto run = (*executor)->run(inputs);
            if (!run) {
                if (run.error().code == ErrorCode::Unsupported) {
                    markUnsupported(result, run.error().message);
                } else {
                    result.outcome = ConformanceCase::Outcome::Failed;
                    result.reason =
                        std::string(errorCodeName(run.error().code)) + ": " + run.error().message;
                }
                return result;
            }
            if (outputFiles.size() != outputNames.size()) {
                markUnsupported(result, "data set has " + std::to_string(outputFiles.size()) +
                                            " outputs, the graph " +
                                            std::to_string(outputNames.size()));
                return result;
            }
            for (std::size_t o = 0; o < outputFiles.size(); ++o) {
                const Tensor &actual = run->outputs.at(outputNames[o]);
                // Read the file as the kind the model declares, else as what
                // the run produced.
                graph::TensorInfo info = (*executor)->valueInfo(outputNames[o]);
                if (info.kind == graph::ValueKind::Tensor && !actual.isTensor()) {
                    info.kind = actual.kind();
                    info.optionalOf = actual.optionalOf();
                }
                auto stored = graph::readValueProtoFile(outputFiles[o], info);
                if (!stored) {
                    markUnsupported(result, "output " + outputFiles[o].filename().string() + ": " +
                                                stored.error().message);
                    return result;
                }
                if (unrunnableType(*stored)) {
                    markUnsupported(result, "string outputs");
                    return result;
                }
                Tensor expected = toRuntimeValue(*stored);
                CompareResult cmp = compareTensors(actual, expected, options.rtol, options.atol);
                result.maxError = std::max(result.maxError, cmp.maxAbsError);
                if (!cmp.ok) {
                    result.outcome = ConformanceCase::Outcome::Failed;
                    result.reason = dataSet.filename().string() + " output '" + outputNames[o] +
                                    "': " + cmp.message;
                    return result;
                }
            }
            ++result.dataSets;
        }
        result.outcome = ConformanceCase::Outcome::Passed;
    } catch (const std::exception &e) {
        result.outcome = ConformanceCase::Outcome::Failed;
        result.reason = std::string("exception: ") + e.what();
    }
    return result;
}

Result<ConformanceSummary> runConformance(const std::vector<fs::path> &roots, Device &device,
                                          const ConformanceOptions &options,
                                          const ProgressFn &progress, const CancelToken *cancel)
{
    SB_ASSIGN_OR_RETURN(auto cases, findConformanceCases(roots));
    ConformanceSummary summary;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "conformance run cancelled");
        if (progress)
            progress(static_cast<double>(i) / static_cast<double>(cases.size()),
                     cases[i].filename().string());
        ConformanceCase result = runConformanceCase(cases[i], device, options);
        switch (result.outcome) {
        case ConformanceCase::Outcome::Passed:
            ++summary.passed;
            break;
        case ConformanceCase::Outcome::Failed:
            ++summary.failed;
            break;
        case ConformanceCase::Outcome::Unsupported:
            ++summary.unsupported;
            break;
        }
        summary.cases.push_back(std::move(result));
    }
    if (progress)
        progress(1.0, "done");
    return summary;
}

} // namespace sb::runtime
