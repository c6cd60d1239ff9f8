// `shardbench-cli calibrate`: measure this machine's CPU rates for the cost model.
#include "app/cli/command.h"
#include "app/cli/pipeline_cli.h"

#include "core/plan/local_run.h"
#include "kernels/registry.h"

#include <cstdio>
#include <iostream>

namespace sb::cli {
namespace {

int runCalibrate(Args &args)
{
    ArgSpec spec("calibrate [--out FILE] [--threads N] [--size N] [--json]",
                 "Measure this machine's CPU devices: float32 GEMM FLOP/s through the engine\n"
                 "(a MatMul on 1..N threads) and memcpy bandwidth. The figures are stored as\n"
                 "JSON (default: " + plan::defaultCalibrationPath().string() + "), which\n"
                 "`devices`, `plan` and `validate` read for local device rates.");
    spec.option("out", "FILE", "where to store the figures",
                plan::defaultCalibrationPath().string());
    spec.option("threads", "N", "measure 1..N threads (default: every hardware thread)");
    spec.option("size", "N", "GEMM size N x N x N", "512");
    spec.flag("json", "print one JSON object");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    plan::CalibrationOptions options;
    auto threads = parsed.getInt("threads", 0);
    auto size = parsed.getInt("size", 512);
    if (!threads)
        return reportError(args.command, threads.error());
    if (!size)
        return reportError(args.command, size.error());
    if (*size < 16 || *size > 8192 || *threads < 0 || *threads > 1024)
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput,
                                     "--size must be 16..8192 and --threads 0..1024"));
    options.maxThreads = static_cast<int>(*threads);
    options.gemmSize = *size;
    options.cancel = &interruptToken();
    if (stderrIsTerminal())
        options.progress = [](double fraction, const std::string &message) {
            std::fprintf(stderr, "\r[%3d%%] %-40s", static_cast<int>(fraction * 100),
                         message.c_str());
            if (fraction >= 1.0)
                std::fprintf(stderr, "\n");
        };
    auto calibration = plan::measureCalibration(kernels::defaultRegistry(), options);
    if (!calibration)
        return reportError(args.command, calibration.error());
    const std::string out = parsed.get("out");
    Status saved = plan::saveCalibration(*calibration, out);
    if (!saved.ok())
        return reportError(args.command, saved.error());
    if (parsed.flag("json")) {
        nlohmann::json rates = nlohmann::json::object();
        for (const auto &[t, rate] : calibration->gemmFlopsByThreads)
            rates[std::to_string(t)] = rate;
        std::cout << nlohmann::json{{"file", out},
                                    {"host", calibration->host},
                                    {"measured_at", calibration->measuredAt},
                                    {"gemm_flops_by_threads", rates},
                                    {"copy_bandwidth", calibration->copyBandwidth}}
                         .dump(2)
                  << "\n";
        return kExitOk;
    }
    for (const auto &[t, rate] : calibration->gemmFlopsByThreads)
        std::printf("GEMM %lldx%lld, %d thread(s): %s\n", static_cast<long long>(*size),
                    static_cast<long long>(*size), t, plan::formatRate(rate).c_str());
    std::printf("copy bandwidth: %.2f GB/s\nstored in %s\n", calibration->copyBandwidth / 1e9,
                out.c_str());
    return kExitOk;
}

const CommandRegistrar registrar{"calibrate", "Measure local CPU GEMM rate and copy bandwidth",
                                 runCalibrate};

} // namespace
} // namespace sb::cli
