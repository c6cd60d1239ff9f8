#include "core/runtime/conformance.h"

#include "core/graph/onnx_import.h"
#include "core/graph/tensor_proto.h"
#include "core/runtime/tensor_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <map>
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

// Relative spacing of bfloat16 values (7 stored mantissa bits).
constexpr double kBfloat16Ulp = 1.0 / 128.0;

// The same bytes as a bfloat16 tensor (the suite stores bfloat16 tensors
// with data_type UINT16).
Tensor asBfloat16(const Tensor &bits)
{
    Tensor t = Tensor::empty(ElementType::BFloat16, bits.shape());
    std::memcpy(t.data(), bits.data(), bits.byteSize());
    return t;
}

// Cases whose outputs come from a random generator: checked by property.
struct RandomProperty
{
    bool bernoulli = false; // Bernoulli / Random*: shape, type, {0, 1} where expected is
    // Dropout with training_mode true and ratio > 0: its data and output names.
    const Tensor *dropoutX = nullptr;
    double ratio = 0.5;
    std::string dropoutY, dropoutMask;
    bool active() const { return bernoulli || dropoutX; }
};

RandomProperty randomProperty(const graph::Graph &g, const TensorMap &inputs)
{
    RandomProperty p;
    auto valueOf = [&](graph::ValueId v) -> const Tensor * {
        if (v == graph::kNoValue)
            return nullptr;
        auto it = inputs.find(g.value(v).name);
        return it != inputs.end() ? &it->second : nullptr;
    };
    for (const graph::Node &node : g.nodes()) {
        if (!node.domain.empty())
            continue;
        if (node.opType == "Bernoulli" || node.opType.rfind("RandomUniform", 0) == 0 ||
            node.opType.rfind("RandomNormal", 0) == 0)
            p.bernoulli = true;
        if (node.opType == "Dropout" && node.inputs.size() >= 3) {
            const Tensor *x = valueOf(node.inputs[0]);
            const Tensor *ratio = node.inputs.size() > 1 ? valueOf(node.inputs[1]) : nullptr;
            const Tensor *training = valueOf(node.inputs[2]);
            if (!x || !training || training->elementCount() != 1 || !training->scalarAsInt())
                continue;
            p.ratio = ratio && ratio->elementCount() == 1 ? ratio->scalarAsDouble() : 0.5;
            if (p.ratio == 0.0)
                continue; // the identity: compared by value
            p.dropoutX = x;
            p.dropoutY = g.value(node.outputs[0]).name;
            if (node.outputs.size() > 1 && node.outputs[1] != graph::kNoValue)
                p.dropoutMask = g.value(node.outputs[1]).name;
        }
    }
    return p;
}

// The property check of one output (see conformance.h); empty when it holds.
std::string checkRandomOutput(const RandomProperty &p, const std::string &name,
                              const Tensor &actual, const Tensor &expected,
                              const TensorMap &outputs)
{
    if (actual.type() != expected.type() || actual.shape() != expected.shape())
        return std::string("element type / shape ") + graph::elementTypeName(actual.type()) + " " +
               shapeToString(actual.shape()) + ", expected " +
               graph::elementTypeName(expected.type()) + " " + shapeToString(expected.shape());
    if (p.dropoutX && (name == p.dropoutY || name == p.dropoutMask)) {
        const Tensor &y = name == p.dropoutY ? actual : outputs.at(p.dropoutY);
        const Tensor *mask = p.dropoutMask.empty() ? nullptr : &outputs.at(p.dropoutMask);
        const double scale = 1.0 / (1.0 - p.ratio);
        for (std::int64_t i = 0; i < y.elementCount(); ++i) {
            const double kept = p.dropoutX->scalarAsDouble(i) * scale, v = y.scalarAsDouble(i);
            const bool isKept = std::fabs(v - kept) <= 1e-5 * (1.0 + std::fabs(kept));
            if (!(isKept || v == 0.0))
                return "element " + std::to_string(i) + ": " + std::to_string(v) +
                       " is neither 0 nor x / (1 - ratio) = " + std::to_string(kept);
            if (mask && (mask->scalarAsInt(i) != 0 ? !isKept : v != 0.0))
                return "element " + std::to_string(i) + ": the mask disagrees with the output";
        }
        return {};
    }
    bool expectedBinary = true;
    for (std::int64_t i = 0; i < expected.elementCount() && expectedBinary; ++i)
        expectedBinary = expected.scalarAsDouble(i) == 0.0 || expected.scalarAsDouble(i) == 1.0;
    for (std::int64_t i = 0; expectedBinary && i < actual.elementCount(); ++i)
        if (actual.scalarAsDouble(i) != 0.0 && actual.scalarAsDouble(i) != 1.0)
            return "element " + std::to_string(i) + ": " +
                   std::to_string(actual.scalarAsDouble(i)) + " is not 0 or 1";
    return {};
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

// True when every reader of graph input `name` reads only its element type
// (CastLike's second input; none at all once CastLike is expanded to Cast), so
// its declared shape does not matter.
bool typeOnlyInput(const graph::Graph &g, const std::string &name)
{
    auto id = g.findValue(name);
    if (!id || g.value(*id).isGraphOutput)
        return false;
    for (graph::NodeId consumer : g.value(*id).consumers) {
        const graph::Node &node = g.node(consumer);
        if (!(node.domain.empty() && node.opType == "CastLike" && node.inputs.size() == 2 &&
              node.inputs[1] == *id && node.inputs[0] != *id))
            return false;
    }
    return true;
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
        // Copies: the executor is rebuilt when a data set's shape replaces a
        // declared one nobody computes with (typeOnlyInput).
        const std::vector<std::string> inputNames = (*executor)->inputNames();
        const std::vector<std::string> outputNames = (*executor)->outputNames();
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
            std::map<std::string, std::vector<std::int64_t>> reshapedInputs;
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
                Tensor input = toRuntimeValue(*stored);
                if (stored->kind == graph::ValueKind::Tensor && declared == ElementType::BFloat16 &&
                    stored->elementType == ElementType::UInt16)
                    input = asBfloat16(input); // the suite stores bfloat16 as uint16 bit patterns
                else if (stored->kind == graph::ValueKind::Tensor &&
                         declared != ElementType::Undefined && declared != stored->elementType) {
                    markUnsupported(
                        result, "input " + inputFiles[i].filename().string() + " is stored as " +
                                    graph::elementTypeName(stored->elementType) +
                                    " but the model declares " + graph::elementTypeName(declared));
                    return result;
                }
                // A data set whose input contradicts the model's declared shape (the
                // suite's castlike bfloat16 cases store 'like' as [1] for [3, 4]):
                // the case cannot be run as written (ONNX Runtime refuses it too).
                // When only the input's element type is read (CastLike's
                // 'like'), its shape changes nothing: run with the data's.
                if (input.isTensor()) {
                    if (Status fits = checkInput(inputNames[i], info, input); !fits.ok()) {
                        if (!typeOnlyInput(**graph, inputNames[i])) {
                            markUnsupported(result, "test data contradicts the model: " +
                                                        fits.error().message);
                            return result;
                        }
                        reshapedInputs[inputNames[i]] = input.shape();
                        result.note = "test data contradicts the model (" + fits.error().message +
                                      "); the input's shape is never read, run with the data's";
                    }
                }
                inputs[inputNames[i]] = input;
            }
            if (!reshapedInputs.empty()) {
                auto patched = std::make_shared<graph::Graph>(**graph);
                for (const auto &[name, shape] : reshapedInputs) {
                    graph::Shape &declared =
                        patched->mutableValues()[*patched->findValue(name)].info.shape;
                    declared = graph::Shape{true, {}};
                    for (std::int64_t d : shape)
                        declared.dims.push_back(graph::Dim::known(d));
                }
                reshapedInputs.clear();
                *graph = patched;
                executor = Executor::create(*graph, device, options.executor);
                if (!executor) {
                    result.reason = executor.error().message;
                    return result;
                }
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
            const RandomProperty random = randomProperty(**graph, inputs);
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
                double rtol = options.rtol;
                if (actual.type() == ElementType::BFloat16 &&
                    expected.type() == ElementType::UInt16) {
                    // bfloat16 stored as uint16 bit patterns, made by truncation where
                    // the spec (and Cast) rounds to nearest even: one bfloat16 ulp.
                    expected = asBfloat16(expected);
                    rtol = std::max(rtol, kBfloat16Ulp);
                    const std::string ulpNote = "bfloat16 outputs compared within one bfloat16 "
                                                "ulp (the suite's data truncates, Cast rounds to "
                                                "nearest even)";
                    if (result.note.find(ulpNote) == std::string::npos)
                        result.note = result.note.empty() ? ulpNote : result.note + "; " + ulpNote;
                }
                if (random.active()) {
                    const std::string broken =
                        checkRandomOutput(random, outputNames[o], actual, expected, run->outputs);
                    if (!broken.empty()) {
                        result.outcome = ConformanceCase::Outcome::Failed;
                        result.reason = dataSet.filename().string() + " output '" + outputNames[o] +
                                        "': " + broken;
                        return result;
                    }
                    result.note = random.dropoutX
                                      ? "random op: checked by property (each output 0 or "
                                        "x / (1 - ratio), the mask agreeing), not values"
                                      : "random op: checked by property (shape, element type, "
                                        "values in {0, 1} where the expected are), not values";
                    continue;
                }
                CompareResult cmp = compareTensors(actual, expected, rtol, options.atol);
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
