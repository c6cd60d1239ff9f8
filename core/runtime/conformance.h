// ONNX backend conformance runner: finds test case folders (model.onnx plus
// test_data_set_N/input_K.pb and output_K.pb), runs each on a device and
// compares with the stored outputs (|ours - ref| <= atol + rtol * |ref|).
//
// Cases with random generator ops cannot match the stored values (the suite
// made them with numpy's generator; ONNX Runtime lists them as broken), so
// they are checked by property instead and pass with a note: Bernoulli /
// RandomUniform(Like) / RandomNormal(Like) graphs: every output has the
// expected shape and element type, and where the expected values are all 0
// or 1 (Bernoulli) so are ours; Dropout with training_mode true and
// ratio > 0: each output element is 0 or x / (1 - ratio) and the mask
// output agrees (true exactly where the element was kept); ratio 0 is the
// identity and is compared by value. bfloat16 tensors stored as uint16 bit
// patterns are read as bfloat16 and compared within one bfloat16 ulp. A data
// set whose input shape contradicts the declared one makes the case
// unsupported, unless no node reads that shape (only CastLike's element-type
// input, or no reader at all): it then runs with the data's shape and a note.
//
// Outcomes: passed; failed (wrong numbers, wrong shape/type, or an error that
// is not "unsupported"; carries the max error or the message); unsupported
// (an op, attribute, element type or input kind not implemented, named in the
// reason, or a model the importer does not accept).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/runtime/device.h"
#include "core/runtime/executor.h"

#include <filesystem>
#include <string>
#include <vector>

namespace sb::runtime {

struct ConformanceOptions
{
    double rtol = 1e-3;
    double atol = 1e-7;
    ExecutorOptions executor;
};

struct ConformanceCase
{
    std::string name; // folder name, e.g. "test_abs"
    std::filesystem::path dir;
    enum class Outcome
    {
        Passed,
        Failed,
        Unsupported
    } outcome = Outcome::Failed;
    std::string reason;  // failed/unsupported: why
    double maxError = 0; // largest |ours - ref| over all outputs and data sets
    int dataSets = 0;
    // Passed cases checked other than by the usual tolerance (bfloat16 data
    // stored as uint16: one bfloat16 ulp); empty otherwise.
    std::string note;
};
const char *outcomeName(ConformanceCase::Outcome outcome); // "passed", "failed", "unsupported"

struct ConformanceSummary
{
    std::vector<ConformanceCase> cases;
    int passed = 0;
    int failed = 0;
    int unsupported = 0;
};

// Case folders under each root (a root may itself be a case), sorted by path.
Result<std::vector<std::filesystem::path>>
findConformanceCases(const std::vector<std::filesystem::path> &roots);

ConformanceCase runConformanceCase(const std::filesystem::path &caseDir, Device &device,
                                   const ConformanceOptions &options = {});

Result<ConformanceSummary> runConformance(const std::vector<std::filesystem::path> &roots,
                                          Device &device, const ConformanceOptions &options = {},
                                          const ProgressFn &progress = {},
                                          const CancelToken *cancel = nullptr);

} // namespace sb::runtime
