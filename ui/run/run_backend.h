// Runs the current plan as a pipeline on this machine's devices through
// core/plan (local devices, stages) and core/runtime's PipelineRunner, or,
// when the plan uses remote devices ("HOST/cpu:0"), as MPI ranks through
// core/plan's MPI launcher (mpirun; hosts from the plan's devices):
// `iterations` timed runs, each streaming the batch as micro-batches through
// the stages. Called on a worker thread; `live` is called after each
// iteration (on the worker thread; the caller queues it to the GUI).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/plan/plan_file.h"
#include "ui/run/run_types.h"

#include <functional>
#include <memory>
#include <vector>

namespace sb::runtime {
class KernelRegistry;
}

namespace sb::ui {

struct RunRequest
{
    std::shared_ptr<const graph::Graph> graph;
    plan::Plan plan; // assignment, devices, batch, micro-batches
    RunConfig config;
    QString modelPath; // the model file (MPI ranks load it themselves)
};

Result<RunOutcome> runPipeline(const RunRequest &request, const ProgressFn &progress,
                               const CancelToken &cancel,
                               const std::function<void(const RunLive &)> &live);

// The kernels the GUI runs with: the engine's process-wide registry when this
// build has it, else an empty one (runs then report the first op without a kernel).
const runtime::KernelRegistry &guiKernelRegistry();

} // namespace sb::ui
