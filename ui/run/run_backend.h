// Runs a placement as a pipeline on this machine's devices: one stage per
// device in topological order, micro-batches streaming through, `iterations`
// timed runs. Called on a worker thread; `live` is called after each iteration
// (on the worker thread; the caller queues it to the GUI).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "ui/run/run_types.h"

#include <functional>
#include <memory>
#include <vector>

namespace sb::ui {

struct RunRequest
{
    std::shared_ptr<const graph::Graph> graph;
    std::vector<std::vector<graph::NodeId>> stageNodes;  // in stage order
    QStringList stageDevices;                             // device id per stage
    std::vector<int> stageThreads;                        // CPU threads per stage device
    QVector<quint64> ledgerBytes;                         // ledger estimate per stage
    RunConfig config;
};

Result<RunOutcome> runPipeline(const RunRequest &request, const ProgressFn &progress,
                               const CancelToken &cancel,
                               const std::function<void(const RunLive &)> &live);

} // namespace sb::ui
