// Engine: one loaded model version ready to answer inference, either the
// whole graph on one CPU device (no plan) or a validated plan run by the
// pipeline runner through plan::openLocalPipeline() -- the same core path
// `shardbench-cli run --plan` takes, so any plan the CLI can run can be served.
//
// Contract:
//  - load() imports the model, validates the plan against it (errors list
//    every problem, exit-2 class) and builds the executor(s). Nothing runs.
//  - run() is safe to call from several threads; pipeline runs are
//    serialised (the runner is not reentrant), whole-graph runs are not.
//  - An Engine is immutable once loaded; hot swap replaces the shared_ptr.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/executor.h"
#include "core/runtime/kernel_registry.h"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sb::plan {
struct LocalPipeline;
}
namespace sb::runtime {
class CpuDevice;
}

namespace sb::serve {

struct EngineSpec
{
    std::filesystem::path model;
    std::filesystem::path plan;                 // empty: the whole graph on one CPU device
    int threads = 0;                            // CPU threads without a plan (0 = every core)
    std::string name;                           // served model name
    std::string version = "1";                  // served version ("3" for classifier:3)
    std::optional<std::int64_t> modelVersionId; // registry id when served from the store
};

struct IoInfo
{
    std::string name;
    graph::TensorInfo info;
    bool batchAxis = false; // dim 0 symbolic: requests can be concatenated along it
};

struct EngineResult
{
    runtime::TensorMap outputs;
    std::vector<double> stageBusyMs; // per stage compute time of this run
    double computeMs = 0;            // wall time of the run
};

class Engine
{
public:
    static Result<std::shared_ptr<Engine>> load(const EngineSpec &spec,
                                                const runtime::KernelRegistry &registry);
    ~Engine();

    const EngineSpec &spec() const { return m_spec; }
    const std::string &name() const { return m_spec.name; }
    const std::string &version() const { return m_spec.version; }
    const std::vector<IoInfo> &inputs() const { return m_inputs; }
    const std::vector<IoInfo> &outputs() const { return m_outputs; }
    const IoInfo *findInput(const std::string &name) const;
    // Every input and every output has a symbolic dim 0: requests can be batched.
    bool batchable() const { return m_batchable; }
    // Device id per stage ("cpu" for a whole-graph engine).
    const std::vector<std::string> &stageDevices() const { return m_stageDevices; }

    Result<EngineResult> run(const runtime::TensorMap &inputs,
                             const CancelToken *cancel = nullptr) const;

private:
    Engine() = default;
    EngineSpec m_spec;
    std::shared_ptr<const graph::Graph> m_graph;
    std::vector<IoInfo> m_inputs, m_outputs;
    std::vector<std::string> m_stageDevices;
    bool m_batchable = false;
    int m_microbatches = 1;
    std::unique_ptr<runtime::CpuDevice> m_device;
    std::unique_ptr<runtime::Executor> m_executor;
    std::unique_ptr<plan::LocalPipeline> m_pipeline;
    mutable std::mutex m_pipelineMutex;
};

} // namespace sb::serve
