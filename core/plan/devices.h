// Device descriptions for planning: what a device can hold and how fast it
// computes and moves bytes. These are cost-model data, not runtime objects
// (the runtime's Device interface lives in core/runtime).
//
// Contract:
//  - A DeviceSpec id is "kind:index" for local devices ("cpu:0", "cuda:1"),
//    "<catalogue name>:<index>" for what-if devices ("A100-80GB:2"), and later
//    "HOST/kind:index" for remote ones.
//  - Rates are FLOP/s (float32) and bytes/s; 0 means unknown. Capacities are bytes.
//  - Links are directed; DeviceSet::link() answers for any pair, falling back
//    to a documented default when no explicit link was given.
#pragma once

#include "core/common/result.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::plan {

struct DeviceSpec
{
    std::string id;   // "cpu:0", "cuda:1", "A100-80GB:0"
    std::string kind; // "cpu" or "cuda"
    std::string name; // human-readable model ("2 cores of AMD EPYC", "NVIDIA A100 80GB")
    std::uint64_t memoryBytes = 0; // capacity the planner may fill
    double flops = 0;              // float32 FLOP/s
    double flopsFp16 = 0;          // float16 FLOP/s (catalogue; 0 when unknown)
    double memoryBandwidth = 0;    // bytes/s
    double pricePerHour = 0;       // USD, catalogue devices only (0 = unknown/owned)
    int threads = 0;               // CPU devices: worker threads of its pool
    std::string source; // where the figures come from ("calibrated", "catalogue", "default")
};

struct LinkSpec
{
    std::string from;
    std::string to;
    std::string name;          // "nvlink4", "pcie4", "shared-memory"
    double bandwidth = 0;      // bytes/s
    double latencySeconds = 0; // per message
};

struct DeviceSet
{
    std::vector<DeviceSpec> devices;
    std::vector<LinkSpec> links; // explicit links; others fall back to defaultLink

    // Used when no explicit link matches (documented in devices.json as "default").
    LinkSpec defaultLink{"", "", "default", 10e9, 10e-6};

    int indexOf(const std::string &id) const; // -1 when absent
    const DeviceSpec *find(const std::string &id) const;
    LinkSpec link(const std::string &from, const std::string &to) const;
    // Seconds to move `bytes` from one device to another (0 on the same device).
    double transferSeconds(const std::string &from, const std::string &to, double bytes) const;
};

// ---- catalogue (resources/devices.json)

struct CatalogLinkType
{
    std::string name; // "nvlink4"
    std::string description;
    double bandwidth = 0; // bytes/s, one direction
    double latencySeconds = 0;
    std::string source;
};

struct CatalogDevice
{
    std::string name; // "A100-80GB"
    std::string kind; // "cuda" or "cpu"
    std::string description;
    std::uint64_t memoryBytes = 0;
    double flopsFp32 = 0;
    double flopsFp16 = 0;
    double memoryBandwidth = 0;
    double pricePerHour = 0;
    std::string peerLink; // link type between two devices of this model in one box
    std::string hostLink; // link type to the host / other device models
    std::string source;
};

struct Catalog
{
    std::vector<CatalogDevice> devices;
    std::vector<CatalogLinkType> links;
    const CatalogDevice *find(const std::string &name) const; // case-insensitive
    const CatalogLinkType *findLink(const std::string &name) const;
};

std::filesystem::path defaultCatalogPath(); // resourceDir()/devices.json
Result<Catalog> loadCatalog(const std::filesystem::path &path = defaultCatalogPath());

// ---- calibration (measured figures for this machine's CPU devices)

// One kernel rate class on one thread count: a node of the class with `work`
// units (KernelProfile::work) takes overheadSeconds + work / unitsPerSecond.
struct ClassRate
{
    double overheadSeconds = 0;
    double unitsPerSecond = 0;
};

// Per-kernel-class rates of a device kind ("cpu"), measured by `calibrate`
// through the engine's own kernels (core/plan/predict.h), and the factors
// learned from stored runs (`calibrate --from-runs`).
struct KernelRates
{
    std::map<std::string, std::map<int, ClassRate>> classes; // class -> threads -> rate
    std::map<int, double> runOverheadSeconds; // threads -> per executor run, beyond its nodes
    // threads -> per executed node beyond its kernel's class time (the
    // executor's dispatch: allocating outputs, freeing inputs, the call); it
    // decides small nodes, e.g. a 1-sample micro-batch's.
    std::map<int, double> nodeOverheadSeconds;
    // Measured / schedule-model wall time of a synthetic pipeline on this
    // machine (calibrate: 1-thread stages spinning a fixed CPU time per
    // micro-batch, 8 micro-batches): with as many stages as cores ("fits":
    // runner start, hand-offs, wake-ups) and one more ("oversubscribed": the
    // OS scheduler's turns beyond the replay's time slices). 0: not
    // measured. predictPipeline stretches runs of several micro-batches by
    // the one that applies.
    double scheduleFactorFits = 0;
    double scheduleFactorOversubscribed = 0;
    // What a run of one micro-batch costs beyond its stages' compute, by
    // stage count (calibrate: the schedule probe's pipeline of that many
    // 1-thread stages, nothing to compute, 1 micro-batch): the run's start
    // and end (waking the stage threads, driver, waits) and each stage -> stage
    // hand-off (the receiver waking). predictPipeline adds them to runs of
    // one micro-batch; the schedule factor covers runs of more.
    struct PipelineOverhead
    {
        double runMs = 0;     // per run, outside the micro-batch's latency
        double handoffMs = 0; // per stage -> stage hand-off, inside it
    };
    std::map<int, PipelineOverhead> pipelineOverhead; // stages -> overhead
    // class -> speed of a 1-thread run of the class while every other core
    // runs the same (calibrate: the class's largest probe alone vs with a
    // copy on each other core), in (0, 1]. Cores share caches, memory
    // bandwidth and, on a virtual machine, perhaps a physical core: stages
    // computing at once each run slower than alone, compute-bound GEMMs the
    // most. predictPipeline turns it into StagePrediction::contention.
    std::map<std::string, double> coRunSpeed;
    int coRunCores = 0; // cores busy in that probe (every core calibrate saw)
    // The cost of weights that do not stay in cache between runs
    // (calibrate: 1-thread chains of 64-row MatMuls through 1 MiB weights,
    // 1..48 MiB in all, each run 8 times back to back): per stage weight set
    // (bytes of the weights its GEMM nodes read per run), the seconds each
    // weight byte costs beyond the class rates' (probed with weights in the
    // core's cache). Ascending by bytes; non-decreasing cost.
    struct WeightStreamPoint
    {
        std::uint64_t weightSetBytes = 0;
        double secondsPerByte = 0;
    };
    std::vector<WeightStreamPoint> weightStream;
    // Seconds per weight byte for a weight set of `bytes`: piecewise linear
    // in log2(bytes) between the points, 0 below the first, the last's above.
    double weightStreamSecondsPerByte(std::uint64_t bytes) const;
    // class -> measured / predicted time of stored runs (1 = none), bounded to
    // [kLearnedFactorMin, kLearnedFactorMax]; `calibrate --reset-learned` clears it.
    std::map<std::string, double> learned;
    std::string learnedFrom; // what the factors came from ("12 runs, 2026-12-03T...")

    bool empty() const { return classes.empty(); }
    // The rate of `rateClass` on `threads`: that thread count, else the
    // closest measured one; nullopt when the class was not measured.
    std::optional<ClassRate> find(const std::string &rateClass, int threads) const;
    double runOverhead(int threads) const;
    double nodeOverhead(int threads) const;
    // That stage count's, else the closest measured one's; zero when none.
    PipelineOverhead pipelineOverheadFor(int stages) const;
};
inline constexpr double kLearnedFactorMin = 0.25;
inline constexpr double kLearnedFactorMax = 4.0;

struct Calibration
{
    std::string host;
    std::string measuredAt; // ISO-8601 UTC
    int hardwareThreads = 0;
    // GEMM float32 FLOP/s measured with N threads (N -> rate).
    std::map<int, double> gemmFlopsByThreads;
    double copyBandwidth = 0; // bytes/s, memcpy of a buffer larger than caches
    // GPUs ("cuda:0" -> rates) measured when the build has CUDA and GPUs exist.
    struct GpuRates
    {
        double gemmFlops = 0;    // float32 MatMul through the CUDA kernels
        double hostToDevice = 0; // bytes/s through the device's pinned staging
    };
    std::map<std::string, GpuRates> gpus;
    KernelRates cpuKernels; // per-kernel-class rates of the CPU devices (empty: not measured)

    // Rate for a device with `threads` threads: the measured figure, else the
    // closest smaller measurement scaled linearly.
    double flopsForThreads(int threads) const;
};

// userDataDir()/calibration.json
std::filesystem::path defaultCalibrationPath();
Result<Calibration> loadCalibration(const std::filesystem::path &path);
Status saveCalibration(const Calibration &calibration, const std::filesystem::path &path);

// ---- local discovery

struct LocalDeviceOptions
{
    int cpuDevices = 2; // the machine's cores are split among this many CPU devices
    // Device id -> capacity cap in bytes (default: physical memory / cpuDevices).
    std::map<std::string, std::uint64_t> memoryCaps;
    // Calibration file (default: defaultCalibrationPath() when it exists).
    std::optional<std::filesystem::path> calibrationPath;
};

// Per-core float32 GEMM rate assumed before `calibrate` ran (FLOP/s).
inline constexpr double kDefaultCpuFlopsPerThread = 20e9;
inline constexpr double kDefaultCpuCopyBandwidth = 8e9;

int hardwareThreads();
std::uint64_t physicalMemoryBytes();

// CPU devices (cores split evenly, each with its own thread count and memory
// cap) and, when built with CUDA and a GPU is present, CUDA devices.
Result<DeviceSet> discoverLocalDevices(const LocalDeviceOptions &options = {});

// "2GiB", "512MiB", "1.5GB", "1000000" -> bytes. Errors name the text.
Result<std::uint64_t> parseByteSize(const std::string &text);
// "cpu:0=2GiB" -> {"cpu:0", bytes}
Result<std::pair<std::string, std::uint64_t>> parseMemoryCap(const std::string &text);

// Device list for planning. SPEC is comma-separated items, each a local id
// ("cpu:0"), or "catalog:NAME[*COUNT]" (what-if devices from the catalogue).
// Mixing is allowed. Catalogue devices of the same model are joined by the
// model's peerLink, anything else by the slower hostLink of the two.
Result<DeviceSet> parseDeviceList(const std::string &spec, const DeviceSet &local,
                                  const Catalog &catalog);

std::string formatBytes(std::uint64_t bytes); // "1.50 GiB"
std::string formatRate(double flops);         // "12.3 GFLOP/s"

} // namespace sb::plan
