#include "core/runtime/conformance.h"

#include "core/graph/onnx_import.h"
#include "core/graph/tensor_proto.h"
#include "core/runtime/tensor_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
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
                auto proto = graph::readTensorProtoFile(inputFiles[i]);
                if (!proto) {
                    markUnsupported(result,
                                    "input " + inputFiles[i].filename().string() +
                                        " is not a plain tensor (sequence/optional/map input)");
                    return result;
                }
                if (proto->data->type() == ElementType::String ||
                    graph::elementSize(proto->data->type()) == 0) {
                    markUnsupported(result, std::string("input element type ") +
                                                graph::elementTypeName(proto->data->type()));
                    return result;
                }
                ElementType declared = (*executor)->valueInfo(inputNames[i]).type;
                Tensor input = Tensor::fromTensorData(proto->data);
                if (declared == ElementType::BFloat16 && input.type() == ElementType::UInt16)
                    input = asBfloat16(input); // the suite stores bfloat16 as uint16 bit patterns
                else if (declared != ElementType::Undefined && declared != proto->data->type()) {
                    markUnsupported(
                        result, "input " + inputFiles[i].filename().string() + " is stored as " +
                                    graph::elementTypeName(proto->data->type()) +
                                    " but the model declares " + graph::elementTypeName(declared));
                    return result;
                }
                // A data set whose input contradicts the model's declared shape (the
                // suite's castlike bfloat16 cases store 'like' as [1] for [3, 4]):
                // the case cannot be run as written (ONNX Runtime refuses it too).
                if (Status fits =
                        checkInput(inputNames[i], (*executor)->valueInfo(inputNames[i]), input);
                    !fits.ok()) {
                    markUnsupported(result,
                                    "test data contradicts the model: " + fits.error().message);
                    return result;
                }
                inputs[inputNames[i]] = input;
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
                auto proto = graph::readTensorProtoFile(outputFiles[o]);
                if (!proto) {
                    markUnsupported(result,
                                    "output " + outputFiles[o].filename().string() +
                                        " is not a plain tensor (sequence/optional output)");
                    return result;
                }
                if (proto->data->type() == ElementType::String) {
                    markUnsupported(result, "string outputs");
                    return result;
                }
                Tensor expected = Tensor::fromTensorData(proto->data);
                const Tensor &actual = run->outputs.at(outputNames[o]);
                double rtol = options.rtol;
                if (actual.type() == ElementType::BFloat16 &&
                    expected.type() == ElementType::UInt16) {
                    // bfloat16 stored as uint16 bit patterns, made by truncation where
                    // the spec (and Cast) rounds to nearest even: one bfloat16 ulp.
                    expected = asBfloat16(expected);
                    rtol = std::max(rtol, kBfloat16Ulp);
                    result.note = "bfloat16 outputs compared within one bfloat16 ulp (the "
                                  "suite's data truncates, Cast rounds to nearest even)";
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
