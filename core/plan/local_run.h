// Turning a plan into something that runs on this machine: runtime devices
// for the plan's local device ids, pipeline stages for the runner, and the
// calibration measurement of the local CPU devices.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/plan/devices.h"
#include "core/plan/plan_file.h"
#include "core/runtime/device.h"
#include "core/runtime/kernel_registry.h"
#include "core/runtime/pipeline.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sb::plan {

// Runtime devices by id. CPU devices get their own thread pool sized to the
// DeviceSpec's threads and its memory capacity.
class LocalDevices
{
public:
    runtime::Device *find(const std::string &id) const;
    void add(std::unique_ptr<runtime::Device> device);
    const std::vector<std::unique_ptr<runtime::Device>> &all() const { return m_devices; }

private:
    std::vector<std::unique_ptr<runtime::Device>> m_devices;
};

// Errors: a what-if (catalogue) or remote device, or a kind this build cannot
// run ("cuda" without CUDA support), naming the device id.
Result<LocalDevices> createLocalDevices(const std::vector<DeviceSpec> &devices,
                                        const runtime::KernelRegistry &registry);

// The plan's stages in pipeline order with their runtime devices. Errors are
// the validator's structural problems (unassigned nodes, cycles...).
Result<std::vector<runtime::PipelineStageSpec>>
pipelineStages(const graph::Graph &graph, const Plan &plan, const LocalDevices &devices);

// A plan ready to run on this machine: its devices and the pipeline runner
// over them. This is the one entry that turns a validated plan into something
// that executes (`run --plan`, `bench --plan` and the inference server all come
// here), so other launchers (MPI ranks) plug in at this seam.
struct LocalPipeline
{
    LocalDevices devices; // outlive the runner (declared first, destroyed last)
    std::unique_ptr<runtime::PipelineRunner> runner;
};
Result<std::unique_ptr<LocalPipeline>> openLocalPipeline(std::shared_ptr<const graph::Graph> graph,
                                                         const Plan &plan,
                                                         const runtime::KernelRegistry &registry);

// Symbolic dims of the graph inputs (other than the batch symbols) bound from
// actual input tensors, e.g. {"seq": 64}, for estimates of a concrete run.
std::map<std::string, std::int64_t> symbolicDimsFromInputs(const graph::Graph &graph,
                                                           const runtime::TensorMap &inputs);

// Measures GEMM FLOP/s through the engine (a MatMul run by an Executor on a
// CpuDevice with 1..maxThreads threads; n x n float32, best of several runs)
// and memcpy bandwidth on a buffer larger than the caches.
struct CalibrationOptions
{
    int maxThreads = 0; // 0: every hardware thread
    std::int64_t gemmSize = 512;
    int repeats = 5;
    ProgressFn progress;
    const CancelToken *cancel = nullptr;
};
Result<Calibration> measureCalibration(const runtime::KernelRegistry &registry,
                                       const CalibrationOptions &options = {});

} // namespace sb::plan
