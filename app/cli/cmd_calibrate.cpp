// `shardbench-cli calibrate`: measure this machine's CPU rates for the cost model.
#include "app/cli/command.h"
#include "app/cli/pipeline_cli.h"
#include "app/cli/store_cli.h"

#include "core/plan/local_run.h"
#include "core/plan/mpi_run.h"
#include "core/plan/predict.h"
#include "kernels/registry.h"

#include <cstdio>
#include <iostream>

namespace sb::cli {
namespace {

int runCalibrate(Args &args)
{
    ArgSpec spec("calibrate [--out FILE] [--threads N] [--size N] [--hosts A,B] [--json]",
                 "Measure this machine's CPU devices: float32 GEMM FLOP/s through the engine\n"
                 "(a MatMul on 1..N threads), memcpy bandwidth and the cost model's kernel\n"
                 "rate classes (GEMM shapes, convolution paths, memory-bound ops, reductions;\n"
                 "per-node overhead; 1..N threads; each class's speed on 1 thread while\n"
                 "the other N - 1 run the same) and how a pipeline of 1-thread stages\n"
                 "runs against the schedule model (as many stages as threads, and one\n"
                 "more). The figures are stored as\n"
                 "JSON (default: " +
                     plan::defaultCalibrationPath().string() +
                     "), which\n"
                     "`devices`, `plan` and `validate` read for local device rates.");
    spec.option("out", "FILE", "where to store the figures",
                plan::defaultCalibrationPath().string());
    spec.option("threads", "N", "measure 1..N threads (default: every hardware thread)");
    spec.option("size", "N", "GEMM size N x N x N", "512");
    spec.option("hosts", "A,B[,...]",
                "measure the MPI links between these hosts instead (latency and bandwidth "
                "from the first host to each other, ping-pong through mpirun); stored in "
                "--links-out, which `devices --hosts` turns into links of remote devices");
    spec.option("links-out", "FILE", "where --hosts stores the links",
                plan::defaultHostLinksPath().string());
    spec.option("worker", "PATH",
                "shardbench-worker on every host (default: next to this program)");
    spec.option("bytes", "N", "--hosts: message size for bandwidth", "8388608");
    spec.option("rounds", "N", "--hosts: round trips per measurement", "10");
    spec.flag("json", "print one JSON object");
    spec.flag("from-runs",
              "refine the stored kernel rates from the runs stored in --db (each run that "
              "carries its prediction: measured / predicted compute per rate class, bounded to "
              "0.25..4) and show what changed; measures nothing");
    spec.flag("reset-learned", "forget the factors learned from runs; measures nothing");
    spec.option("max-runs", "N", "--from-runs: the most recent runs used", "50");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    if (parsed.flag("from-runs") || parsed.flag("reset-learned")) {
        const std::string file = parsed.get("out");
        auto stored = plan::loadCalibration(file);
        if (!stored)
            return reportError(
                args.command,
                makeError(ErrorCode::InvalidInput,
                          stored.error().message + " (run `shardbench-cli calibrate` first)"));
        nlohmann::json doc{{"file", file}};
        if (parsed.flag("reset-learned")) {
            stored->cpuKernels.learned.clear();
            stored->cpuKernels.learnedFrom.clear();
            doc["learned"] = nlohmann::json::object();
        } else {
            int exitCode = kExitOk;
            auto store = openStoreOrReport(parsed, args.command, &exitCode);
            if (!store)
                return exitCode;
            auto maxRuns = parsed.getInt("max-runs", 50);
            if (!maxRuns || *maxRuns < 1)
                return reportError(args.command,
                                   makeError(ErrorCode::InvalidInput, "--max-runs must be >= 1"));
            auto runs = store->runs().runs();
            if (!runs)
                return reportError(args.command, runs.error());
            std::vector<plan::RunEvidence> evidence;
            int skipped = 0;
            for (auto it = runs->rbegin(); it != runs->rend(); ++it) {
                if (static_cast<std::int64_t>(evidence.size()) >= *maxRuns)
                    break;
                if (auto run = plan::evidenceFromRecord(it->timings))
                    evidence.push_back(*run);
                else
                    ++skipped;
            }
            auto changes = plan::learnFromRuns(stored->cpuKernels, evidence);
            stored->cpuKernels.learnedFrom =
                std::to_string(evidence.size()) + " stored run(s) of " + parsed.get("db");
            nlohmann::json changed = nlohmann::json::object();
            for (const auto &[rateClass, factors] : changes) {
                changed[rateClass] = {{"before", factors.first}, {"after", factors.second}};
                if (!parsed.flag("json"))
                    std::printf("%-26s x%.3f -> x%.3f\n", rateClass.c_str(), factors.first,
                                factors.second);
            }
            doc["runs_used"] = evidence.size();
            doc["runs_without_prediction"] = skipped;
            doc["changes"] = changed;
            if (!parsed.flag("json"))
                std::printf("%zu run(s) used, %d without a stored prediction\n", evidence.size(),
                            skipped);
        }
        if (Status saved = plan::saveCalibration(*stored, file); !saved.ok())
            return reportError(args.command, saved.error());
        if (parsed.flag("json"))
            printJson(doc);
        else
            std::printf("stored in %s\n", file.c_str());
        return kExitOk;
    }
    if (parsed.has("hosts")) {
        auto hosts = plan::parseHostList(parsed.get("hosts"));
        auto bytes = parsed.getInt("bytes", 8 << 20);
        auto rounds = parsed.getInt("rounds", 10);
        if (!hosts)
            return reportError(args.command, hosts.error());
        if (!bytes || !rounds || *bytes < 1 || *bytes > (1ll << 30) || *rounds < 1)
            return reportError(
                args.command,
                makeError(ErrorCode::InvalidInput, "--bytes must be 1..1GiB and --rounds >= 1"));
        auto links = plan::calibrateHostLinks(
            *hosts, parsed.get("worker"), static_cast<std::size_t>(*bytes),
            static_cast<int>(*rounds), [](const std::string &line) { std::cerr << line << "\n"; },
            &interruptToken());
        if (!links)
            return reportError(args.command, links.error());
        const std::string out = parsed.get("links-out");
        if (Status saved = plan::saveHostLinks(*links, out); !saved.ok())
            return reportError(args.command, saved.error());
        nlohmann::json list = nlohmann::json::array();
        for (const auto &link : *links) {
            list.push_back({{"from", link.from},
                            {"to", link.to},
                            {"bandwidth", link.bandwidth},
                            {"latency_s", link.latencySeconds}});
            if (!parsed.flag("json"))
                std::printf("%s -> %s: %.2f GB/s, %.1f us\n", link.from.c_str(), link.to.c_str(),
                            link.bandwidth / 1e9, link.latencySeconds * 1e6);
        }
        if (parsed.flag("json"))
            printJson(nlohmann::json{{"file", out}, {"host_links", list}});
        else
            std::printf("stored in %s\n", out.c_str());
        return kExitOk;
    }
    plan::CalibrationOptions options;
    auto threads = parsed.getInt("threads", 0);
    auto size = parsed.getInt("size", 512);
    if (!threads)
        return reportError(args.command, threads.error());
    if (!size)
        return reportError(args.command, size.error());
    if (*size < 16 || *size > 8192 || *threads < 0 || *threads > 1024)
        return reportError(
            args.command,
            makeError(ErrorCode::InvalidInput, "--size must be 16..8192 and --threads 0..1024"));
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
    // Per-kernel-class rates through the engine's own kernels.
    plan::KernelProbeOptions probeOptions;
    probeOptions.maxThreads = options.maxThreads;
    probeOptions.cancel = options.cancel;
    probeOptions.progress = options.progress;
    auto kernelRates = plan::measureKernelRates(kernels::defaultRegistry(), probeOptions);
    if (!kernelRates)
        return reportError(args.command, kernelRates.error());
    calibration->cpuKernels = std::move(*kernelRates);
    const std::string out = parsed.get("out");
    // Factors learned from runs survive a re-calibration (--reset-learned clears them).
    if (auto previous = plan::loadCalibration(out); previous) {
        calibration->cpuKernels.learned = previous->cpuKernels.learned;
        calibration->cpuKernels.learnedFrom = previous->cpuKernels.learnedFrom;
    }
    Status saved = plan::saveCalibration(*calibration, out);
    if (!saved.ok())
        return reportError(args.command, saved.error());
    if (parsed.flag("json")) {
        nlohmann::json rates = nlohmann::json::object();
        for (const auto &[t, rate] : calibration->gemmFlopsByThreads)
            rates[std::to_string(t)] = rate;
        nlohmann::json doc{{"file", out},
                           {"host", calibration->host},
                           {"measured_at", calibration->measuredAt},
                           {"gemm_flops_by_threads", rates},
                           {"copy_bandwidth", calibration->copyBandwidth}};
        nlohmann::json classes = nlohmann::json::object();
        for (const auto &[name, byThreads] : calibration->cpuKernels.classes)
            for (const auto &[t, rate] : byThreads)
                classes[name][std::to_string(t)] = {{"overhead_s", rate.overheadSeconds},
                                                    {"units_per_s", rate.unitsPerSecond}};
        doc["kernel_rates"] = classes;
        doc["schedule_factor"] = {
            {"fits", calibration->cpuKernels.scheduleFactorFits},
            {"oversubscribed", calibration->cpuKernels.scheduleFactorOversubscribed}};
        nlohmann::json pipelineOverhead = nlohmann::json::object();
        for (const auto &[stages, overhead] : calibration->cpuKernels.pipelineOverhead)
            pipelineOverhead[std::to_string(stages)] = {{"run_ms", overhead.runMs},
                                                        {"handoff_ms", overhead.handoffMs}};
        doc["pipeline_overhead"] = pipelineOverhead;
        nlohmann::json coRun = nlohmann::json::object();
        for (const auto &[name, speed] : calibration->cpuKernels.coRunSpeed)
            coRun[name] = speed;
        doc["co_run_speed"] = coRun;
        doc["co_run_cores"] = calibration->cpuKernels.coRunCores;
        nlohmann::json weightStream = nlohmann::json::array();
        for (const auto &point : calibration->cpuKernels.weightStream)
            weightStream.push_back({{"weight_set_bytes", point.weightSetBytes},
                                    {"seconds_per_byte", point.secondsPerByte}});
        doc["weight_stream"] = weightStream;
        if (!calibration->gpus.empty()) {
            nlohmann::json gpus = nlohmann::json::object();
            for (const auto &[id, gpu] : calibration->gpus)
                gpus[id] = {{"gemm_flops", gpu.gemmFlops},
                            {"host_to_device_bandwidth", gpu.hostToDevice}};
            doc["gpus"] = gpus;
        }
        printJson(doc);
        return kExitOk;
    }
    for (const auto &[t, rate] : calibration->gemmFlopsByThreads)
        std::printf("GEMM %lldx%lld, %d thread(s): %s\n", static_cast<long long>(*size),
                    static_cast<long long>(*size), t, plan::formatRate(rate).c_str());
    std::printf("copy bandwidth: %.2f GB/s\n", calibration->copyBandwidth / 1e9);
    for (const auto &[name, byThreads] : calibration->cpuKernels.classes)
        for (const auto &[t, rate] : byThreads)
            std::printf("%-26s %d thread(s): %8.1f us + work / %.3g per s\n", name.c_str(), t,
                        rate.overheadSeconds * 1e6, rate.unitsPerSecond);
    if (!calibration->cpuKernels.coRunSpeed.empty()) {
        std::printf("co-run speed (1 thread while each of the other %d core(s) runs the same):",
                    calibration->cpuKernels.coRunCores - 1);
        for (const auto &[name, speed] : calibration->cpuKernels.coRunSpeed)
            std::printf(" %s %.2f", name.c_str(), speed);
        std::printf("\n");
    }
    if (!calibration->cpuKernels.weightStream.empty()) {
        std::printf("GEMM weights beyond the cache (1 thread), us per MiB read, by the weights "
                    "a run reads:");
        for (const auto &point : calibration->cpuKernels.weightStream)
            std::printf(" %.0f MiB %.1f", static_cast<double>(point.weightSetBytes) / 1048576.0,
                        point.secondsPerByte * 1048576.0 * 1e6);
        std::printf("\n");
    }
    std::printf("pipeline schedule (measured / modelled wall, 8 micro-batches): x%.3f with a "
                "1-thread stage per core, x%.3f with one stage more\n",
                calibration->cpuKernels.scheduleFactorFits,
                calibration->cpuKernels.scheduleFactorOversubscribed);
    for (const auto &[stages, overhead] : calibration->cpuKernels.pipelineOverhead)
        std::printf("pipeline of %d 1-thread stage(s), 1 micro-batch: %.3f ms per run + %.3f ms "
                    "per hand-off\n",
                    stages, overhead.runMs, overhead.handoffMs);
    for (const auto &[id, gpu] : calibration->gpus)
        std::printf("%s: GEMM %s, host -> device %.2f GB/s\n", id.c_str(),
                    plan::formatRate(gpu.gemmFlops).c_str(), gpu.hostToDevice / 1e9);
    std::printf("stored in %s\n", out.c_str());
    return kExitOk;
}

const CommandRegistrar registrar{"calibrate", "Measure local CPU GEMM rate and copy bandwidth",
                                 runCalibrate};

} // namespace
} // namespace sb::cli
