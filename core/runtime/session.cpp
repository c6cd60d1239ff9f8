#include "core/runtime/session.h"

#include "core/graph/onnx_import.h"
#include "core/runtime/run_summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace sb::runtime {

Result<Session> openSession(const std::filesystem::path &model, const KernelRegistry &registry,
                            int threads, const ExecutorOptions &options)
{
    Session session;
    SB_ASSIGN_OR_RETURN(session.graph, graph::importOnnxFile(model));
    session.device = std::make_unique<CpuDevice>("cpu:0", threads, 0, registry);
    auto executor = Executor::create(session.graph, *session.device, options);
    if (!executor)
        return executor.error().withContext(model.string());
    session.executor = std::move(*executor);
    return session;
}

Result<TimingSummary> timeRuns(const Executor &executor, const TensorMap &inputs,
                               std::int64_t batch, int warmup, int iters,
                               const std::function<void(int, int)> &progress,
                               const CancelToken *cancel)
{
    RunOptions options;
    options.cancel = cancel;
    TimingSummary timing;
    for (int i = 0; i < warmup; ++i) {
        auto result = executor.run(inputs, options);
        if (!result)
            return result.error();
    }
    for (int i = 0; i < iters; ++i) {
        auto result = executor.run(inputs, options);
        if (!result)
            return result.error();
        timing.iterationMs.push_back(result->stats.wallMs);
        timing.peakMemoryBytes = std::max(timing.peakMemoryBytes, result->stats.peakMemoryBytes);
        timing.plannedPeakMemoryBytes = result->stats.plannedPeakMemoryBytes;
        if (progress)
            progress(i + 1, iters);
    }
    // One definition of the figures for every front end (run_summary.h).
    timing.summary = summarizeRuns(batch, timing.iterationMs);
    return timing;
}

Result<RunProfile> profileRuns(const Executor &executor, const TensorMap &inputs, int warmup,
                               int iters, const CancelToken *cancel)
{
    RunOptions options;
    options.cancel = cancel;
    for (int i = 0; i < warmup; ++i) {
        auto result = executor.run(inputs, options);
        if (!result)
            return result.error();
    }
    struct NodeTotal
    {
        const std::string *name = nullptr;
        const std::string *opType = nullptr;
        const char *kernel = nullptr;
        double ms = 0;
    };
    std::map<graph::NodeId, NodeTotal> totals; // the executed graph outlives the runs
    options.onNode = [&](const NodeEvent &event) {
        NodeTotal &total = totals[event.node];
        total.name = event.name;
        total.opType = event.opType;
        if (event.kernel)
            total.kernel = event.kernel;
        total.ms += event.endMs - event.startMs;
    };
    RunProfile profile;
    double wallMs = 0;
    for (int i = 0; i < iters; ++i) {
        auto result = executor.run(inputs, options);
        if (!result)
            return result.error();
        wallMs += result->stats.wallMs;
    }
    if (iters <= 0)
        return profile;
    const double runs = static_cast<double>(iters);
    profile.runs = iters;
    profile.wallMsPerRun = wallMs / runs;
    std::map<std::string, OpTypeProfile> byType;
    for (const auto &[id, total] : totals) {
        const graph::Node &node = executor.executedGraph().node(id);
        std::string opType = node.domain.empty() || node.domain == "ai.onnx"
                                 ? *total.opType
                                 : node.domain + "." + *total.opType;
        NodeProfile nodeProfile;
        nodeProfile.name = *total.name;
        if (nodeProfile.name.empty())
            nodeProfile.name.append("#").append(std::to_string(id));
        nodeProfile.opType = opType;
        if (total.kernel)
            nodeProfile.kernel = total.kernel;
        nodeProfile.msPerRun = total.ms / runs;
        profile.byNode.push_back(nodeProfile);
        OpTypeProfile &typeProfile = byType[opType];
        typeProfile.opType = opType;
        typeProfile.nodes += 1;
        typeProfile.msPerRun += nodeProfile.msPerRun;
    }
    for (auto &[name, typeProfile] : byType)
        profile.byOpType.push_back(typeProfile);
    auto slowestFirst = [](const auto &a, const auto &b) { return a.msPerRun > b.msPerRun; };
    std::stable_sort(profile.byOpType.begin(), profile.byOpType.end(), slowestFirst);
    std::stable_sort(profile.byNode.begin(), profile.byNode.end(), slowestFirst);
    return profile;
}

} // namespace sb::runtime
