// Plans across processes and hosts with Open MPI.
//
// Launching side (shardbench-cli, the GUI): layoutStages() puts every stage
// on an MPI rank (one rank per distinct device while its host has slots; a
// rank may host several stages), writeMpiJob()/mpirunCommand() describe the
// job, launchMpiJob() runs mpirun, streams the ranks' progress lines and
// reads rank 0's result file. Nothing listens on a port of ours: mpirun
// starts remote ranks over ssh, and ranks talk with Open MPI's own transport.
//
// Rank side (shardbench-worker --mpi-job FILE, one process per rank):
// runMpiRank(). Rank 0 is the driver: it reads the job (plan, model path,
// inputs), broadcasts it, checks every rank has the same model file
// (sha256) and can create the devices the plan puts there, then all ranks
// run their stages (StageWorker) over the MPI transport, rank 0 feeding and
// collecting (PipelineDriver). Ranks other than 0 send heartbeats; rank 0
// ends the job (MPI_Abort, exit 4) when a rank reports an error or misses
// its heartbeats, after writing an error result naming rank, host and stage.
//
// Device ids: "cpu:N" is a device of the first host (rank 0's, this
// machine); "HOST/cpu:N" a device of HOST, which must be in the host list.
#pragma once

#include "core/common/stats.h"

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/plan/plan_file.h"
#include "core/plan/validate.h"
#include "core/runtime/kernel_registry.h"
#include "core/runtime/pipeline.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sb::runtime {
class MpiWorld;
}

namespace sb::plan {

struct HostSlots
{
    std::string host;
    int slotCount = 1;
};

// "a:2,b,c:4" (slots default 1). Errors name the bad item.
Result<std::vector<HostSlots>> parseHostList(const std::string &text);
// Open MPI hostfile: "host [slots=N]" per line, '#' comments. Errors name file and line.
Result<std::vector<HostSlots>> readHostfile(const std::filesystem::path &path);
// localhost, 127.0.0.1, ::1 or this machine's host name.
bool isLocalHost(const std::string &host);

struct MpiLayout
{
    std::vector<HostSlots> ranksPerHost;       // hosts in rank order, slotCount = ranks used there
    std::vector<std::string> rankHost;         // per rank
    std::vector<int> stageRank;                // per stage
    std::vector<std::string> stageDevice;      // the plan's id ("node2/cpu:0")
    std::vector<std::string> stageLocalDevice; // the id on its host ("cpu:0")
    // Helper shards of tensor-parallel stages, in endpoint order (stage order,
    // then shard 1, 2...; see runtime::addTensorParallelGroups).
    std::vector<int> shardRank;
    std::vector<std::string> shardDevice;
    std::vector<std::string> shardLocalDevice;
    int ranks() const { return static_cast<int>(rankHost.size()); }
    // "rank 1 (host node2, stage 1 on node2/cpu:0)"
    std::string describeRank(int rank) const;
};
// Hosts a plan needs when none are given: this machine with a slot per local
// device (at least one, for the driver), then every HOST of "HOST/..." devices
// with a slot per device there.
std::vector<HostSlots> hostsForPlan(const Plan &plan);
bool planHasRemoteDevices(const Plan &plan);
// The first host runs rank 0 (the driver) and must be this machine.
Result<MpiLayout> layoutStages(const Plan &plan, const StageGraph &stages,
                               const std::vector<HostSlots> &hosts);

struct MpiJob
{
    std::string runId;
    std::filesystem::path model; // same path on every host
    std::string modelSha256;
    nlohmann::json plan;
    std::vector<std::pair<std::string, std::filesystem::path>> inputs; // rank 0 reads them
    std::filesystem::path outputDir; // rank 0 writes the outputs here (empty: none)
    std::filesystem::path result;    // rank 0 writes the result JSON here
    int microbatches = 1;
    int warmup = 0;
    int iterations = 1;
    double heartbeatSeconds = 0.5;
    double heartbeatTimeoutSeconds = 10;
    bool fuse = true;
    bool reference = false;
    MpiLayout layout;
};
nlohmann::json mpiJobToJson(const MpiJob &job);
Result<MpiJob> mpiJobFromJson(const nlohmann::json &doc);

struct MpiLaunchOptions
{
    std::string mpirun = "mpirun";
    std::filesystem::path worker;                  // shardbench-worker (same path on every host)
    std::optional<std::filesystem::path> hostfile; // passed to mpirun instead of --host
};
// mpirun --oversubscribe -np N --host h:n,... [--mca ... lo when every host is
// local] -x OMPI_ALLOW_RUN_AS_ROOT... WORKER --mpi-job JOBFILE
std::vector<std::string> mpirunCommand(const MpiJob &job, const std::filesystem::path &jobFile,
                                       const MpiLaunchOptions &options);
std::string shellJoin(const std::vector<std::string> &argv);

// Runs a command (mpirun) in its own process group, streaming its merged
// stdout/stderr lines to onLine. On cancel: SIGTERM to mpirun, SIGKILL to its
// process group after 5 s. Returns the exit status (128 + signal when killed).
struct ChildOutcome
{
    int exitStatus = 0;
    std::vector<std::string> lines; // the last lines (up to 200)
    bool cancelled = false;
};
Result<ChildOutcome> runChild(const std::vector<std::string> &argv,
                              const std::function<void(const std::string &)> &onLine,
                              const CancelToken *cancel);

// Writes the job file, runs mpirun and returns rank 0's result document
// ({"ok":true, "metrics", "iteration_ms", "outputs", "microbatch_note"}).
// Errors: Runtime (exit 4) naming the rank, host and stage of a fault;
// Cancelled (130); InvalidInput (2) for a bad job (model hash, devices).
Result<nlohmann::json> launchMpiJob(const MpiJob &job, const std::filesystem::path &jobFile,
                                    const MpiLaunchOptions &options,
                                    const std::function<void(const std::string &)> &onLine,
                                    const CancelToken *cancel);

// The whole launch, for every front end: writes the inputs and the job to a
// private temporary folder, runs mpirun (or only builds its command when
// dryRun), reads back metrics and outputs, removes the folder.
struct MpiRunRequest
{
    std::shared_ptr<const graph::Graph> graph;
    std::filesystem::path model;
    Plan plan; // validated; microbatches as wanted
    runtime::TensorMap inputs;
    std::vector<HostSlots> hosts;                  // empty: localhost with one slot per device
    std::optional<std::filesystem::path> hostfile; // hosts read from it (and passed to mpirun)
    std::filesystem::path worker;                  // shardbench-worker
    int warmup = 0;
    int iterations = 1;
    bool wantOutputs = true;
    bool fuse = true;
    bool reference = false;
    double heartbeatTimeoutSeconds = 10;
    bool dryRun = false;
    std::function<void(const std::string &)> onLine; // ranks' progress lines
    const CancelToken *cancel = nullptr;
};
struct MpiRunOutput
{
    std::string command; // the mpirun command line
    MpiLayout layout;
    runtime::PipelineMetrics metrics; // of the last run
    std::vector<double> iterationMs;  // measured runs, as rank 0 timed them
    std::vector<double> latencyMs;    // every micro-batch latency of the measured runs
    // Per rank: what the whole process (every thread) used over the measured
    // runs: CPU time and context switches.
    std::vector<ProcessUsage> rankUsage;
    runtime::TensorMap outputs; // of the last run (wantOutputs)
};
Result<MpiRunOutput> runPlanOverMpi(const MpiRunRequest &request);

// $SHARDBENCH_WORKER when set, else shardbench-worker next to this executable
// (same build path on every host).
std::filesystem::path defaultWorkerPath();

// ---- hosts: devices and links

// One host's probe (shardbench-worker --probe), device ids made remote
// ("HOST/cpu:0").
struct HostProbe
{
    std::string host;     // as given in --hosts
    std::string hostname; // what the host calls itself
    int hardwareThreads = 0;
    std::uint64_t memoryBytes = 0;
    std::vector<DeviceSpec> devices;
};
// mpirun with one rank per host running `worker --probe`.
Result<std::vector<HostProbe>> probeHosts(const std::vector<HostSlots> &hosts,
                                          const std::filesystem::path &worker, int cpuDevices,
                                          const std::function<void(const std::string &)> &onLine,
                                          const CancelToken *cancel);

// Measured link between two hosts (calibrate --hosts).
struct HostLink
{
    std::string from;
    std::string to;
    double bandwidth = 0;      // bytes/s
    double latencySeconds = 0; // one way, small message
};
// mpirun with one rank per host running `worker --mpi-calibrate`: ping-pong
// from the first host to every other (both directions recorded).
Result<std::vector<HostLink>> calibrateHostLinks(
    const std::vector<HostSlots> &hosts, const std::filesystem::path &worker, std::size_t bytes,
    int rounds, const std::function<void(const std::string &)> &onLine, const CancelToken *cancel);
std::filesystem::path defaultHostLinksPath(); // userDataDir()/host_links.json
Status saveHostLinks(const std::vector<HostLink> &links, const std::filesystem::path &path);
Result<std::vector<HostLink>> loadHostLinks(const std::filesystem::path &path);
// Adds a link for every pair of devices of `set` on different hosts that has
// none yet, from the measured host links: "cpu:N" devices are on `localHost`
// (this machine), "HOST/..." ones on HOST (localhost names map to localHost).
void addHostLinks(DeviceSet &set, const std::vector<HostLink> &links,
                  const std::string &localHost = "localhost");
// Devices of the probed hosts plus links between devices of different hosts
// from the measured host links (others keep the DeviceSet default), which
// the plan file carries to validation and the cost model.
DeviceSet remoteDeviceSet(const std::vector<HostProbe> &probes, const std::vector<HostLink> &links);

// The rank program (shardbench-worker --mpi-job FILE). Returns the process
// exit code (0, 2, 4, 130).
int runMpiRank(runtime::MpiWorld &world, const std::filesystem::path &jobFile,
               const runtime::KernelRegistry &registry);

// `shardbench-worker --probe`: this host's devices as JSON
// {"host", "hardware_threads", "memory_bytes", "version", "mpi", "cuda", "devices":[...]}.
nlohmann::json probeHostJson(int cpuDevices);

} // namespace sb::plan
