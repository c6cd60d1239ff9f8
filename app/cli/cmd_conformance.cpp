// `shardbench-cli conformance DIR... [--json]`: ONNX backend test cases.
#include "app/cli/command.h"

#include "core/runtime/conformance.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace sb::cli {

namespace {

int runConformanceCommand(Args &args)
{
    ArgSpec spec(
        "conformance DIR... [--json] [--threads N] [--reference] [--no-fusion] [--verbose]",
        "Run ONNX backend test cases (a folder with model.onnx and test_data_set_N/input_K.pb,\n"
        "output_K.pb; folders are searched recursively) and compare with the stored outputs\n"
        "(rtol 1e-3, atol 1e-7). Each case is passed, failed (with the max error) or\n"
        "unsupported (naming the op, attribute or element type).\n"
        "bfloat16 tensors the suite stores as uint16 bit patterns are read as bfloat16;\n"
        "such outputs are compared within one bfloat16 ulp (rtol 2^-7: the suite's data\n"
        "truncates, Cast rounds to nearest even as the spec says) and the case carries a\n"
        "note (--verbose, JSON \"note\").\n"
        "Random ops (Bernoulli, RandomUniform(Like), RandomNormal(Like), Dropout with\n"
        "training_mode) cannot reproduce the suite's numpy-generated values; those cases are\n"
        "checked by property and pass with a note: outputs of the expected shape and type,\n"
        "values in {0, 1} where the expected are (Bernoulli); for Dropout each output is 0\n"
        "or x / (1 - ratio) and the mask agrees (ratio 0: the identity, compared by value).\n"
        "A data set whose input shape contradicts the model's declaration is unsupported,\n"
        "unless nothing reads that input's shape (CastLike's 'like', or an unread input):\n"
        "then it runs with the data's shape and a note.");
    spec.positional("DIR", "case folder or folder of cases", true, true);
    spec.flag("json",
              "print one JSON object: {cases: [...], totals: {passed, failed, unsupported}}");
    spec.option("threads", "N", "threads of the CPU device", "1");
    spec.flag("reference", "run the reference kernels only (the oracle)");
    spec.flag("no-fusion", "switch the fusion passes off");
    spec.flag("verbose", "list every case (default: failed and unsupported only)");
    spec.epilog("Exit: 0 when no case failed, 1 when a case failed, 2 on bad usage.\n"
                "Example: shardbench-cli conformance /usr/share/libonnx-testdata/data/node");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto threads = parsed.getInt("threads", 1);
    if (!threads)
        return reportError(args.command, threads.error());
    std::vector<std::filesystem::path> roots(parsed.positional.begin(), parsed.positional.end());
    runtime::CpuDevice device("cpu:0", static_cast<int>(*threads), 0, kernels::defaultRegistry());
    runtime::ConformanceOptions options;
    options.executor.fuse = !parsed.flag("no-fusion");
    if (parsed.flag("reference"))
        options.executor.variant = runtime::KernelVariant::Reference;
    bool json = parsed.flag("json");
    bool bar = !json && stderrIsTerminal();
    auto summary = runtime::runConformance(
        roots, device, options, [&](double fraction, const std::string &name) {
            if (bar)
                std::cerr << "\r[" << std::setw(3) << static_cast<int>(fraction * 100) << "%] "
                          << std::left << std::setw(60) << name.substr(0, 60) << std::right
                          << std::flush;
        });
    if (bar)
        std::cerr << "\r" << std::string(70, ' ') << "\r";
    if (!summary)
        return reportError(args.command, summary.error());
    if (json) {
        nlohmann::json out;
        out["cases"] = nlohmann::json::array();
        for (const auto &c : summary->cases) {
            nlohmann::json item{{"name", c.name},
                                {"path", c.dir.string()},
                                {"outcome", runtime::outcomeName(c.outcome)}};
            if (c.outcome != runtime::ConformanceCase::Outcome::Passed)
                item["reason"] = c.reason;
            if (c.outcome != runtime::ConformanceCase::Outcome::Unsupported)
                item["max_error"] = c.maxError;
            if (!c.note.empty())
                item["note"] = c.note;
            out["cases"].push_back(item);
        }
        out["totals"] = {{"passed", summary->passed},
                         {"failed", summary->failed},
                         {"unsupported", summary->unsupported}};
        printJson(out);
    } else {
        for (const auto &c : summary->cases) {
            bool show =
                parsed.flag("verbose") || c.outcome != runtime::ConformanceCase::Outcome::Passed;
            if (!show)
                continue;
            std::cout << std::left << std::setw(12) << runtime::outcomeName(c.outcome) << std::right
                      << c.name;
            if (c.outcome == runtime::ConformanceCase::Outcome::Failed)
                std::cout << "  (max error " << c.maxError << ")";
            if (!c.reason.empty())
                std::cout << "  " << c.reason;
            if (!c.note.empty())
                std::cout << "  (" << c.note << ")";
            std::cout << "\n";
        }
        std::cout << "totals: passed " << summary->passed << ", failed " << summary->failed
                  << ", unsupported " << summary->unsupported << " (" << summary->cases.size()
                  << " cases)\n";
    }
    return summary->failed ? kExitCheckFailed : kExitOk;
}

const CommandRegistrar reg{"conformance", "Run ONNX backend conformance test cases",
                           runConformanceCommand};

} // namespace

} // namespace sb::cli
