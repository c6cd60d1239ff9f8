// cost_model_bench: the cost model's predictions against what the engine
// measures, in the same run.
//
//  1. Calibrates the kernel rate classes (plan::measureKernelRates, what
//     `shardbench-cli calibrate` stores) unless --rates FILE gives stored ones.
//  2. For each model (bench/.models resnet18, mobilenet_v2, bert6, gpt6 and the
//     demo decoder resources/demo/decoder.onnx), batch 8 (inputs tiled), for
//     1-, 2- and 3-stage plans (the auto-planner over that many local CPU
//     devices, the machine's cores split among them, planning with the
//     predicted node times) at 1 and 8 micro-batches, all six plans open at
//     once and measured in --plan-rounds (9) interleaved rounds after --warmup
//     (3) untimed runs of each, together with the whole-graph runs the model
//     learns from (1 thread and every thread, batch 8 and 1: "probes"). In
//     each round every probe and plan runs --cut-warm (1) untimed iterations
//     and one timed one, the order reversing every other round, so that the
//     host's drift (up to 20% over tens of seconds on a shared VM) falls on
//     the learned factors and on every plan's medians alike. The plans are
//     chosen with factors learned from probes run just before; the
//     prediction (plan::predictPipeline) then uses the factors the rounds'
//     probes learned (nodes whose kernel chose oneDNN's implementation are
//     priced with that one's declared scratch; no figure of the plans' own
//     runs enters it). --sequential gives the earlier way: each plan's
//     --warmup untimed and --repeats (5) timed runs back to back, predicted
//     with factors learned right before each stage count.
//     Printed per stage: predicted vs measured compute ms (measured: median
//     over the runs) and the stage's predicted contention
//     (plan::StagePrediction::contention); per run: throughput (measured: batch / the median
//     iteration's wall time), latency p50 and peak memory (activations +
//     inbound transfer buffers, summed over stages), predicted vs measured
//     (medians).
//  3. Median and 90th-percentile absolute percentage error of each figure.
//  4. Demo decoder: every valid 2-stage block cut measured at 8 micro-batches
//     vs the planner's chosen cut: its throughput as a fraction of the best
//     cut's. All cuts are open at once and measured in --cut-rounds (15)
//     interleaved rounds after --warmup, so that the host's drift falls on
//     every cut alike; in each round every cut runs --cut-warm (1) untimed
//     iterations and then one timed one (its own weights back in cache, as
//     when a plan runs repeatedly), and the order reverses every other round.
//     The cuts within --contender-margin (10%) of the best median, and the
//     planner's, then race --final-rounds (30) more rounds among themselves.
//     Throughput from each cut's median iteration; the planner's share of the
//     best is the median over rounds of the two cuts' paired iteration times
//     (the ratio of medians is printed beside it). Each cut's line also gives
//     the cost model's throughput for it and its stages' predicted / measured
//     (median) ms. --cut-nodes then profiles the planner's cut and the best
//     one (--cut-rounds runs of each, one cut after the other,
//     PipelineRunOptions::onNode in the pipeline's own stages): per stage and
//     rate class (with --verbose, per node), predicted vs measured ms of an
//     iteration.
// Prints `uptime` first and last (the machine is shared: load changes the
// measured side, not the predicted one).
//
//   build/bench/cost_model_bench [--models DIR] [--demo FILE] [--only a,b] [--repeats R]
//                                [--warmup W] [--rates calibration.json] [--no-cuts]
//                                [--cut-rounds N] [--cut-warm K] [--final-rounds N]
//                                [--contender-margin PCT] [--cut-nodes] [--nodes] [--no-learn]
//                                [--learn-pooled] [--learn-once]
//                                [--verbose] [--classes] [--shared-cores] [--plan-rounds N]
//                                [--sequential] [--no-weight-stream]
//  --no-learn: no learning pass (only the calibrated-only figures then mean anything).
//  --learn-pooled: learn once, from every model's runs, before any plan (default:
//     each model from its own probes, in its plans' rounds).
//  --learn-once: with --sequential, each model learns once, right before its
//     first plan.
//  --no-weight-stream: drop the calibrated cost of weights beyond the cache
//     (KernelRates::weightStream), to see what it changes.
//  --verbose: print every learned factor.
//  --classes: per rate class predicted vs measured ms of a whole-graph run.
//  --nodes: after each plan's figures, per stage and rate class (with --verbose,
//     per node) predicted vs measured ms of an iteration, from --repeats more
//     runs with PipelineRunOptions::onNode.
//  --shared-cores: give the schedule model the cores this process really gets
//  (a 1-thread run alone vs two at once, rounded) instead of the hardware threads.
#include "core/common/stats.h"
#include "core/graph/onnx_import.h"
#include "core/plan/local_run.h"
#include "core/plan/planner.h"
#include "core/plan/predict.h"
#include "core/runtime/heap_policy.h"
#include "core/runtime/npy.h"
#include "core/runtime/run_summary.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#ifndef SB_SOURCE_DIR
#define SB_SOURCE_DIR "."
#endif

using namespace sb;
using namespace sb::runtime;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kBatch = 8;

double msSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void printUptime()
{
    std::ifstream load("/proc/loadavg");
    std::string line;
    std::getline(load, line);
    std::printf("uptime (load averages 1/5/15 min, runnable/total, last pid): %s\n", line.c_str());
}

std::string cpuModel()
{
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line))
        if (line.rfind("model name", 0) == 0)
            return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

// Rows tiled to `batch` along dim 0.
Tensor tileBatch(const Tensor &tensor, std::int64_t batch)
{
    Shape shape = tensor.shape();
    const std::size_t rowBytes = tensor.byteSize() / static_cast<std::size_t>(shape[0]);
    const std::int64_t have = shape[0];
    shape[0] = batch;
    Tensor out = Tensor::empty(tensor.type(), shape);
    for (std::int64_t r = 0; r < batch; ++r)
        std::memcpy(static_cast<char *>(out.data()) + rowBytes * static_cast<std::size_t>(r),
                    static_cast<const char *>(tensor.data()) +
                        rowBytes * static_cast<std::size_t>(r % have),
                    rowBytes);
    return out;
}

struct Model
{
    std::string name;
    std::shared_ptr<graph::Graph> graph;
    TensorMap inputs;       // batch kBatch
    TensorMap sampleInputs; // batch 1: what a stage runs per micro-batch at M = kBatch
    std::map<std::string, std::int64_t> dims; // other symbolic dims bound from the inputs
};

Result<Model> loadModel(const std::string &name, const std::string &onnx,
                        const std::vector<std::pair<std::string, std::string>> &inputFiles)
{
    Model model;
    model.name = name;
    SB_ASSIGN_OR_RETURN(model.graph, graph::importOnnxFile(onnx));
    for (const auto &[input, file] : inputFiles) {
        SB_ASSIGN_OR_RETURN(Tensor tensor, readNpy(file));
        model.inputs[input] = tileBatch(tensor, kBatch);
        model.sampleInputs[input] = tileBatch(tensor, 1);
    }
    model.dims = plan::symbolicDimsFromInputs(*model.graph, model.inputs);
    return model;
}

struct Errors
{
    std::vector<double> stage, throughput, latency, memory;
};

double ape(double predicted, double measured)
{
    return measured > 0 ? std::fabs(predicted - measured) / measured * 100.0 : 0.0;
}

struct Measured
{
    std::vector<double> stageMs; // median over runs, whole run per stage
    RunSummary summary;
    double peakMemory = 0; // median over runs of the stages' sum
    int microbatches = 1;
    double pageFaults = 0; // median over runs, the whole process's (minor)
};

// One plan's timed runs, gathered run by run (measure() runs them back to
// back; the default rounds interleave them with other plans and probes).
struct RunSamples
{
    std::vector<double> iterationMs, latencyMs, memory, faults;
    std::vector<std::vector<double>> stageMs;
    int microbatches = 1;

    void add(const PipelineResult &result, double wallMs, double pageFaults)
    {
        iterationMs.push_back(wallMs);
        faults.push_back(pageFaults);
        latencyMs.insert(latencyMs.end(), result.metrics.microbatchLatencyMs.begin(),
                         result.metrics.microbatchLatencyMs.end());
        stageMs.resize(result.metrics.stages.size());
        double bytes = 0;
        for (std::size_t s = 0; s < result.metrics.stages.size(); ++s) {
            stageMs[s].push_back(result.metrics.stages[s].computeMs);
            bytes += static_cast<double>(result.metrics.stages[s].peakMemoryBytes);
        }
        memory.push_back(bytes);
        microbatches = result.metrics.microbatches;
    }

    Measured medians() const
    {
        Measured measured;
        for (const auto &samples : stageMs)
            measured.stageMs.push_back(percentile(samples, 50));
        measured.summary = summarizeRuns(kBatch, iterationMs, latencyMs);
        // Throughput of the median iteration, like the stage and latency
        // figures (medians): the mean over a handful of iterations moves by
        // tens of percent when one of them loses its cores for a while (the
        // machine is shared), which the prediction cannot know.
        if (measured.summary.iterationMedianMs > 0)
            measured.summary.throughput =
                static_cast<double>(kBatch) * 1e3 / measured.summary.iterationMedianMs;
        measured.peakMemory = percentile(memory, 50);
        measured.microbatches = microbatches;
        measured.pageFaults = percentile(faults, 50);
        return measured;
    }
};

// One run of `runner` at `microbatches`, its figures into `samples` (null:
// untimed).
Status runOnce(const PipelineRunner &runner, const TensorMap &inputs, int microbatches,
               RunSamples *samples)
{
    PipelineRunOptions options;
    options.microbatches = microbatches;
    // Page faults (the whole process's: a stage's are its threads').
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    const auto started = Clock::now();
    SB_ASSIGN_OR_RETURN(PipelineResult result, runner.run(inputs, options));
    const double ms = msSince(started);
    getrusage(RUSAGE_SELF, &after);
    if (samples)
        samples->add(result, ms, static_cast<double>(after.ru_minflt - before.ru_minflt));
    return Status::success();
}

Result<Measured> measure(const PipelineRunner &runner, const TensorMap &inputs, int microbatches,
                         int warmup, int repeats)
{
    RunSamples samples;
    for (int r = 0; r < warmup + repeats; ++r)
        SB_TRY(runOnce(runner, inputs, microbatches, r < warmup ? nullptr : &samples));
    return samples.medians();
}

// The cores this process really gets (the machine is shared): the model run
// on a 1-thread device alone vs two such runs at once, 2 x alone / together,
// rounded, in 1..hardware threads. The schedule model shares these among
// computing stages.
int effectiveCores(const Model &model)
{
    const auto &registry = kernels::defaultRegistry();
    CpuDevice d0("cpu:probe0", 1, 0, registry), d1("cpu:probe1", 1, 0, registry);
    auto e0 = Executor::create(model.graph, d0);
    auto e1 = Executor::create(model.graph, d1);
    if (!e0 || !e1 || !(*e0)->run(model.inputs) || !(*e1)->run(model.inputs))
        return plan::hardwareThreads();
    std::vector<double> alone, together;
    for (int r = 0; r < 2; ++r) {
        auto started = Clock::now();
        (void)(*e0)->run(model.inputs);
        alone.push_back(msSince(started));
        started = Clock::now();
        std::thread other([&] { (void)(*e1)->run(model.inputs); });
        (void)(*e0)->run(model.inputs);
        other.join();
        together.push_back(msSince(started));
    }
    const double cores = 2.0 * percentile(alone, 50) / percentile(together, 50);
    return std::clamp(static_cast<int>(std::lround(cores)), 1, plan::hardwareThreads());
}

int g_cores = 0; // effectiveCores of the model being measured (0: hardware threads)

Result<plan::PipelinePrediction> predict(const Model &model, const PipelineRunner &runner,
                                         const plan::KernelRates &rates, int microbatches)
{
    plan::PipelinePredictOptions options;
    options.cores = g_cores;
    options.batch = kBatch;
    options.microbatches = microbatches;
    options.dims = model.dims;
    return plan::predictPipeline(*model.graph, runner, rates, options);
}

Result<plan::DeviceSet> localDevices(int count)
{
    plan::LocalDeviceOptions options;
    options.cpuDevices = count;
    return plan::discoverLocalDevices(options);
}

Result<plan::Plan> planFor(const Model &model, const plan::DeviceSet &devices,
                           const plan::KernelRates &rates, int microbatches)
{
    plan::PlannerOptions options;
    options.batch = kBatch;
    options.microbatches = microbatches;
    options.dims = model.dims;
    options.tensorParallel = false;
    const int threads = devices.devices.front().threads;
    const int stageThreads = static_cast<int>(devices.devices.size()) * threads;
    SB_TRY(plan::usePredictedCosts(options, model.graph, kernels::defaultRegistry(), rates, threads,
                                   plan::cacheShareOf(stageThreads, plan::hardwareThreads())));
    SB_ASSIGN_OR_RETURN(plan::PlannerResult planned,
                        plan::autoPlan(*model.graph, devices, options));
    return planned.plan;
}

Result<std::unique_ptr<plan::LocalPipeline>> openPipeline(const Model &model,
                                                          const plan::Plan &plan)
{
    return plan::openLocalPipeline(model.graph, plan, kernels::defaultRegistry());
}

int fail(const std::string &what, const Error &error)
{
    std::fprintf(stderr, "cost_model_bench: %s: %s\n", what.c_str(), error.message.c_str());
    return 1;
}

// Per rate class (or, `bySize`, per learned-factor key of class, thread
// count and size of work: plan::learnedSizeKey): predicted and measured (the
// executor's per-node timing hook, median over the timed runs, scaled so
// that the classes add up to the run's wall time) ms of one whole-graph run
// on one device of `threads` threads, batch 8 (or 1, `sample`). classTimes()
// runs it back to back; the default plan rounds run it once per round,
// between the plans.
class ClassProbe
{
public:
    static std::unique_ptr<ClassProbe> create(const Model &model, const plan::KernelRates &rates,
                                              int threads, bool sample, bool bySize)
    {
        auto probe = std::unique_ptr<ClassProbe>(new ClassProbe(model, threads, sample));
        auto executor = Executor::create(model.graph, probe->m_device);
        cost::DimBindings bindings;
        bindings.batch = sample ? 1 : kBatch;
        bindings.dims = model.dims;
        auto shapes = plan::valueShapesByName(*model.graph, bindings);
        if (!executor || !shapes)
            return nullptr;
        probe->m_executor = std::move(*executor);
        probe->m_stage = plan::predictStage(*probe->m_executor, *shapes, rates, threads);
        for (const auto &node : probe->m_stage.nodes) {
            const std::string key =
                bySize ? plan::learnedSizeKey(node.rateClass, threads, node.work) : node.rateClass;
            probe->m_classOf[node.node] = key;
            probe->m_predictedMs[key] += node.seconds * 1e3;
        }
        return probe;
    }

    // One run; `timed` keeps its figures. The first run plans memory and
    // picks kernels: callers leave it untimed.
    Status run(bool timed)
    {
        std::map<std::string, double> current;
        RunOptions options;
        options.onNode = [&](const NodeEvent &event) {
            current[m_classOf[*event.name]] += event.endMs - event.startMs;
        };
        const auto started = Clock::now();
        SB_TRY(m_executor->run(m_sample ? m_model.sampleInputs : m_model.inputs, options));
        const double wall = msSince(started);
        if (!timed)
            return Status::success();
        double sum = 0;
        for (const auto &[key, ms] : current) {
            m_samples[key].push_back(ms);
            sum += ms;
        }
        m_walls.push_back(wall);
        m_hooked.push_back(sum);
        return Status::success();
    }

    // Key -> (predicted, measured) ms.
    std::map<std::string, std::pair<double, double>> times() const
    {
        std::map<std::string, std::pair<double, double>> out;
        for (const auto &[key, ms] : m_predictedMs)
            out[key].first = ms;
        if (m_hooked.empty())
            return out;
        // The executor's own work between the nodes (dispatch, outputs,
        // frees: 1-8% of a run here, most in many-node graphs at batch 1)
        // is in a stage's measured compute, which is what `calibrate
        // --from-runs` learns from: share it out over the classes as their
        // measured times. The copy of the outputs at the end of a run is
        // priced on its own (StagePrediction::outputCopySeconds), not
        // shared out.
        const double between =
            percentile(m_hooked, 50) > 0
                ? std::max(1.0, (percentile(m_walls, 50) - m_stage.outputCopySeconds * 1e3) /
                                    percentile(m_hooked, 50))
                : 1.0;
        for (const auto &[key, ms] : m_samples)
            out[key].second = percentile(ms, 50) * between;
        return out;
    }

private:
    ClassProbe(const Model &model, int threads, bool sample)
        : m_model(model), m_sample(sample),
          m_device("cpu:classes", threads, 0, kernels::defaultRegistry())
    {}

    const Model &m_model;
    bool m_sample;
    CpuDevice m_device;
    std::unique_ptr<Executor> m_executor;
    plan::StagePrediction m_stage;
    std::map<std::string, std::string> m_classOf;
    std::map<std::string, double> m_predictedMs;
    std::map<std::string, std::vector<double>> m_samples;
    std::vector<double> m_walls, m_hooked;
};

std::map<std::string, std::pair<double, double>>
classTimes(const Model &model, const plan::KernelRates &rates, int threads, int repeats, int warmup,
           bool sample = false, bool bySize = false)
{
    auto probe = ClassProbe::create(model, rates, threads, sample, bySize);
    if (!probe)
        return {};
    for (int r = 0; r < std::max(1, warmup) + repeats; ++r)
        if (!probe->run(r >= std::max(1, warmup)).ok())
            return {};
    return probe->times();
}

void printClassTimes(const Model &model, const plan::KernelRates &rates, int repeats, int warmup)
{
    const int threads = plan::hardwareThreads();
    std::printf("  per class, whole graph on %d thread(s): predicted / measured ms\n", threads);
    for (const auto &[rateClass, ms] : classTimes(model, rates, threads, repeats, warmup))
        std::printf("    %-26s %9.2f / %9.2f\n", rateClass.c_str(), ms.first, ms.second);
}

// Per stage and rate class (with `verbose`, per node): the prediction's ms
// of one iteration vs the executor's per-node times in the pipeline's own
// stages (PipelineRunOptions::onNode), median over `rounds` runs.
Status printNodeProfile(const Model &model, const PipelineRunner &runner,
                        const plan::PipelinePrediction &predicted, int microbatches, int rounds,
                        bool verbose)
{
    // [stage][node] -> ms of an iteration, one per round.
    std::map<int, std::map<std::string, std::vector<double>>> perNode;
    // [stage] -> the stage's compute (its executor runs) minus its nodes'
    // hooked times: dispatch, the output copy, the run's overhead.
    std::map<int, std::vector<double>> outside;
    PipelineRunOptions options;
    options.microbatches = microbatches;
    for (int round = 0; round < rounds; ++round) {
        std::mutex mutex;
        std::map<int, std::map<std::string, double>> iteration;
        options.onNode = [&](int stage, int, const NodeEvent &event) {
            std::lock_guard lock(mutex);
            iteration[stage][*event.name] += event.endMs - event.startMs;
        };
        SB_ASSIGN_OR_RETURN(PipelineResult result, runner.run(model.inputs, options));
        for (const auto &[stage, nodes] : iteration) {
            double hooked = 0;
            for (const auto &[node, ms] : nodes) {
                perNode[stage][node].push_back(ms);
                hooked += ms;
            }
            if (stage < static_cast<int>(result.metrics.stages.size()))
                outside[stage].push_back(
                    result.metrics.stages[static_cast<std::size_t>(stage)].computeMs - hooked);
        }
    }
    for (std::size_t st = 0; st < predicted.stages.size(); ++st) {
        std::map<std::string, std::pair<double, double>> byClass;
        const auto &measured = perNode[static_cast<int>(st)];
        for (const auto &node : predicted.stages[st].nodes) {
            auto &entry = byClass[node.rateClass];
            const double ms = node.seconds * 1e3 * microbatches;
            auto it = measured.find(node.node);
            const double took = it != measured.end() ? percentile(it->second, 50) : 0.0;
            entry.first += ms;
            entry.second += took;
            if (verbose)
                std::printf("      stage %zu node %-34s %-24s %8.3f / %8.3f\n", st,
                            node.node.substr(0, 34).c_str(), node.rateClass.c_str(), ms, took);
        }
        for (const auto &[rateClass, ms] : byClass)
            std::printf("      stage %zu %-30s %9.3f / %9.3f ms  %+6.1f%%\n", st, rateClass.c_str(),
                        ms.first, ms.second,
                        ms.second > 0 ? (ms.first / ms.second - 1.0) * 100.0 : 0.0);
        double nodesMs = 0;
        for (const auto &node : predicted.stages[st].nodes)
            nodesMs += node.seconds * 1e3 * microbatches;
        const double predictedOutside = predicted.stages[st].seconds * 1e3 * microbatches - nodesMs;
        const auto &out = outside[static_cast<int>(st)];
        const double measuredOutside = out.empty() ? 0.0 : percentile(out, 50);
        std::printf("      stage %zu %-30s %9.3f / %9.3f ms  %+6.1f%%  (output copy predicted "
                    "%.3f)\n",
                    st, "outside nodes", predictedOutside, measuredOutside,
                    measuredOutside > 0 ? (predictedOutside / measuredOutside - 1.0) * 100.0 : 0.0,
                    predicted.stages[st].outputCopySeconds * 1e3 * microbatches);
    }
    return Status::success();
}

void printErrors(const char *label, std::vector<double> errors)
{
    if (errors.empty())
        return;
    std::printf("  %-22s n=%3zu  median %6.1f%%  p90 %6.1f%%\n", label, errors.size(),
                percentile(errors, 50), percentile(errors, 90));
}

} // namespace

int main(int argc, char **argv)
{
    // Runs allocate the same large blocks each time: keep them mapped (heap_policy.h).
    (void)sb::runtime::keepRunBuffersMapped();
    std::string modelsDir = std::string(SB_SOURCE_DIR) + "/bench/.models";
    std::string demo = std::string(SB_SOURCE_DIR) + "/resources/demo/decoder.onnx";
    std::string ratesFile;
    std::set<std::string> only;
    // Three warm-up runs: the first plans memory and times kernel choices;
    // the next ones still page-fault as the heap grows to hold a run's
    // outputs next to the previous run's (8 MiB of logits cost the decoder
    // ~22 ms of faults per run on this VM until then).
    int repeats = 5, warmup = 3;
    bool cuts = true;
    bool pooled = false;
    bool learnOnce = false;
    bool verbose = false;
    int cutRounds = 15;
    int cutWarm = 1;
    int finalRounds = 30;
    double contenderShare = 0.9;
    bool cutNodes = false;
    bool weightStream = true;
    bool nodes = false;
    bool classes = false;
    bool learn = true;
    bool sharedCores = false;
    bool sequential = false;
    int planRounds = 9;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (arg == "--models")
            modelsDir = next();
        else if (arg == "--demo")
            demo = next();
        else if (arg == "--repeats")
            repeats = std::max(1, std::atoi(next().c_str()));
        else if (arg == "--warmup")
            warmup = std::max(0, std::atoi(next().c_str()));
        else if (arg == "--rates")
            ratesFile = next();
        else if (arg == "--no-cuts")
            cuts = false;
        else if (arg == "--learn-once")
            learnOnce = true;
        else if (arg == "--learn-pooled")
            pooled = true;
        else if (arg == "--verbose")
            verbose = true;
        else if (arg == "--cut-rounds")
            cutRounds = std::max(1, std::atoi(next().c_str()));
        else if (arg == "--cut-warm")
            cutWarm = std::max(0, std::atoi(next().c_str()));
        else if (arg == "--final-rounds")
            finalRounds = std::max(0, std::atoi(next().c_str()));
        else if (arg == "--contender-margin")
            contenderShare = 1.0 - std::clamp(std::atof(next().c_str()), 0.0, 100.0) / 100.0;
        else if (arg == "--cut-nodes")
            cutNodes = true;
        else if (arg == "--nodes")
            nodes = true;
        else if (arg == "--classes")
            classes = true;
        else if (arg == "--no-learn")
            learn = false;
        else if (arg == "--no-weight-stream")
            weightStream = false;
        else if (arg == "--shared-cores")
            sharedCores = true;
        else if (arg == "--sequential")
            sequential = true;
        else if (arg == "--plan-rounds")
            planRounds = std::max(1, std::atoi(next().c_str()));
        else if (arg == "--only") {
            std::stringstream list(next());
            for (std::string name; std::getline(list, name, ',');)
                only.insert(name);
        } else {
            std::fprintf(stderr,
                         "usage: cost_model_bench [--models DIR] [--demo FILE] [--only a,b] "
                         "[--repeats R] [--warmup W] [--rates FILE] [--no-cuts] [--cut-rounds N] "
                         "[--cut-warm K] [--final-rounds N] [--contender-margin PCT] [--cut-nodes] "
                         "[--nodes] "
                         "[--no-learn] [--learn-pooled] [--learn-once] [--verbose] [--classes] "
                         "[--shared-cores] [--plan-rounds N] [--sequential] "
                         "[--no-weight-stream]\n");
            return 2;
        }
    }
    const auto benchStarted = Clock::now();
    printUptime();
    std::printf("CPU: %s, %d hardware threads\n", cpuModel().c_str(), plan::hardwareThreads());

    // 1. Calibration.
    plan::KernelRates rates;
    if (!ratesFile.empty()) {
        auto calibration = plan::loadCalibration(ratesFile);
        if (!calibration)
            return fail(ratesFile, calibration.error());
        rates = calibration->cpuKernels;
    } else {
        const auto started = Clock::now();
        auto measured = plan::measureKernelRates(kernels::defaultRegistry());
        if (!measured)
            return fail("calibration", measured.error());
        rates = *measured;
        std::printf("calibrated %zu kernel classes in %.1f s\n", rates.classes.size(),
                    msSince(started) / 1e3);
    }
    if (!weightStream) {
        rates.weightStream.clear();
        std::printf("--no-weight-stream: weights are priced as if in cache\n");
    }
    for (const auto &[name, byThreads] : rates.classes)
        for (const auto &[threads, rate] : byThreads)
            std::printf("  %-26s %d thr  overhead %7.1f us  rate %9.3g units/s\n", name.c_str(),
                        threads, rate.overheadSeconds * 1e6, rate.unitsPerSecond);
    std::printf("  co-run speed (1 thread, with a copy on each of the other %d core(s)):",
                std::max(0, rates.coRunCores - 1));
    for (const auto &[name, speed] : rates.coRunSpeed)
        std::printf(" %s %.2f", name.c_str(), speed);
    std::printf("\n");
    std::printf("  schedule factor (measured / modelled wall, 8 micro-batches): stages = cores "
                "x%.3f, one more x%.3f\n",
                rates.scheduleFactorFits, rates.scheduleFactorOversubscribed);
    for (const auto &[stages, overhead] : rates.pipelineOverhead)
        std::printf("  pipeline overhead, %d stage(s), 1 micro-batch: %.3f ms per run + %.3f ms "
                    "per hand-off\n",
                    stages, overhead.runMs, overhead.handoffMs);
    if (!rates.weightStream.empty()) {
        std::printf("  weights beyond the cache (1 thread), us per MiB read by a run, by weight "
                    "set:");
        for (const auto &point : rates.weightStream)
            std::printf(" %.0f MiB %.1f", point.weightSetBytes / 1048576.0,
                        point.secondsPerByte * 1048576.0 * 1e6);
        std::printf("\n");
    }

    // 2. Models.
    std::vector<std::pair<std::string, std::function<Result<Model>()>>> sources = {
        {"resnet18",
         [&] {
             return loadModel("resnet18", modelsDir + "/resnet18.onnx",
                              {{"input", modelsDir + "/resnet18.in0.npy"}});
         }},
        {"mobilenet_v2",
         [&] {
             return loadModel("mobilenet_v2", modelsDir + "/mobilenet_v2.onnx",
                              {{"input", modelsDir + "/mobilenet_v2.in0.npy"}});
         }},
        {"bert6",
         [&] {
             return loadModel("bert6", modelsDir + "/bert6.onnx",
                              {{"input_ids", modelsDir + "/bert6.in0.npy"},
                               {"attention_mask", modelsDir + "/bert6.in1.npy"}});
         }},
        // make_bench_models.py writes gpt6 as the demo decoder file on its own ids.
        {"gpt6",
         [&] {
             return loadModel("gpt6", modelsDir + "/../../resources/demo/decoder.onnx",
                              {{"input_ids", modelsDir + "/gpt6.in0.npy"}});
         }},
        {"demo_decoder",
         [&] {
             return loadModel(
                 "demo_decoder", demo,
                 {{"input_ids", std::string(SB_SOURCE_DIR) + "/resources/demo/decoder_input.npy"}});
         }},
    };
    std::vector<Model> loaded;
    for (auto &[name, load] : sources) {
        if (!only.empty() && !only.count(name))
            continue;
        auto model = load();
        if (!model) {
            std::printf("\n%s: skipped (%s)\n", name.c_str(), model.error().message.c_str());
            continue;
        }
        loaded.push_back(std::move(*model));
    }

    // Learning from runs: a model run whole on one device (1 thread and
    // every thread; batch 8 and batch 1, the micro-batch of the M = 8 runs),
    // per-node times from the executor's hook, folded as `calibrate
    // --from-runs` folds stored runs, into factors per class, thread count
    // and size of work (plan::learnedSizeKey; nodes of a batch-1 run do
    // an eighth of the work, and run less efficiently per unit). Each model
    // learns from its own runs, as a user's stored runs of a model refine
    // the predictions of its next plans: by default from the runs
    // interleaved with its plans' (so the host's drift falls on both
    // alike), with --sequential right before its plans of each stage count;
    // --learn-pooled learns once from every model's runs first.
    // learnFromProbes: the factors, on top of the calibrated rates.
    auto learnFromProbes = [&](const std::vector<std::unique_ptr<ClassProbe>> &probes,
                               std::size_t modelCount) {
        plan::KernelRates learned = rates;
        std::vector<plan::RunEvidence> evidence;
        for (const auto &probe : probes)
            for (const auto &[key, times] : probe->times()) {
                plan::RunEvidence run;
                run.predictedMs = times.first;
                run.measuredMs = times.second;
                run.predictedByClass[key] = times.first;
                evidence.push_back(run);
            }
        auto changes = plan::learnFromRuns(learned, evidence);
        std::printf("\nlearned from %zu per-class run figures of %zu model(s) (bounded "
                    "%.2f..%.1f): %zu factors\n",
                    evidence.size(), modelCount, plan::kLearnedFactorMin, plan::kLearnedFactorMax,
                    changes.size());
        if (verbose)
            for (const auto &[rateClass, factors] : changes)
                std::printf("  %-26s x%.3f\n", rateClass.c_str(), factors.second);
        return learned;
    };
    // The probes of one model: whole graph on 1 thread and on every thread,
    // batch 8 and batch 1.
    auto probesFor = [&](const Model &model) {
        std::vector<std::unique_ptr<ClassProbe>> probes;
        for (int threads : {1, plan::hardwareThreads()})
            for (bool sample : {false, true})
                if (auto probe = ClassProbe::create(model, rates, threads, sample, true))
                    probes.push_back(std::move(probe));
        return probes;
    };
    // Probes run back to back, model after model.
    auto learnFrom = [&](const std::vector<const Model *> &models) {
        std::vector<std::unique_ptr<ClassProbe>> all;
        for (const Model *model : models)
            for (auto &probe : probesFor(*model)) {
                for (int r = 0; r < std::max(1, warmup) + repeats; ++r)
                    (void)probe->run(r >= std::max(1, warmup));
                all.push_back(std::move(probe));
            }
        return learnFromProbes(all, models.size());
    };
    plan::KernelRates pooledRates = rates;
    if (learn && pooled) {
        std::vector<const Model *> all;
        for (const Model &model : loaded)
            all.push_back(&model);
        pooledRates = learnFrom(all);
    }
    std::map<std::string, plan::KernelRates> learnedByModel;

    Errors errors, calibratedOnly;
    for (const Model &modelRef : loaded) {
        const Model *model = &modelRef;
        const std::string &name = model->name;
        std::printf("\n== %s (batch %lld)\n", name.c_str(), static_cast<long long>(kBatch));
        const plan::KernelRates &learnedRates = learnedByModel[name] =
            learn && !pooled ? learnFrom({model}) : pooledRates;
        if (classes)
            printClassTimes(*model, learnedRates, repeats, warmup);
        if (sharedCores) {
            g_cores = effectiveCores(*model);
            std::printf("  cores this process gets now (1-thread runs alone vs two at once): %d\n",
                        g_cores);
        }
        // The auto-planner's plan over `devices` at `microbatches`, opened;
        // null (said why) when the planner finds none.
        auto planAndOpen = [&](const plan::DeviceSet &devices, int stages,
                               int microbatches) -> Result<std::unique_ptr<plan::LocalPipeline>> {
            auto planned = planFor(*model, devices, learnedRates, microbatches);
            if (!planned) {
                std::printf("  %d stage(s), M=%d: no plan (%s)\n", stages, microbatches,
                            planned.error().message.c_str());
                return std::unique_ptr<plan::LocalPipeline>{};
            }
            return openPipeline(*model, *planned);
        };
        // Predicted (the learned rates, and the calibrated ones alone) vs
        // measured figures of one plan, into the errors.
        auto report = [&](const PipelineRunner &runner, int threads, int effective,
                          const std::string &note, const Measured &m,
                          const plan::KernelRates &withFactors) -> int {
            auto predicted = predict(*model, runner, withFactors, effective);
            auto calibrated = predict(*model, runner, rates, effective);
            if (!predicted || !calibrated)
                return fail(name, predicted ? calibrated.error() : predicted.error());
            const auto &p = *predicted;
            const auto &c = *calibrated;
            std::printf("  %d stage(s) x %d thread(s), M=%d%s   [predicted (calibrated "
                        "only) vs measured]\n",
                        static_cast<int>(runner.stageCount()), threads, effective,
                        note.empty() ? "" : (" (" + note + ")").c_str());
            for (std::size_t s = 0; s < runner.stageCount(); ++s) {
                const double pm = p.schedule.stageComputeMs[s];
                const double cm = c.schedule.stageComputeMs[s];
                std::printf("    stage %zu  compute     %9.2f (%9.2f) ms  measured %9.2f ms  "
                            "err %6.1f%% (%6.1f%%)  contention %.3f  weights %.1f MiB\n",
                            s, pm, cm, m.stageMs[s], ape(pm, m.stageMs[s]), ape(cm, m.stageMs[s]),
                            p.stages[s].contention, p.stages[s].weightSetBytes / 1048576.0);
                errors.stage.push_back(ape(pm, m.stageMs[s]));
                calibratedOnly.stage.push_back(ape(cm, m.stageMs[s]));
            }
            const auto &ps = p.schedule.summary;
            const auto &cs = c.schedule.summary;
            std::printf("    run  throughput %9.2f (%9.2f) /s  measured %9.2f /s  err %6.1f%% "
                        "(%6.1f%%)\n",
                        ps.throughput, cs.throughput, m.summary.throughput,
                        ape(ps.throughput, m.summary.throughput),
                        ape(cs.throughput, m.summary.throughput));
            std::printf("    run  latency p50 %8.2f (%8.2f) ms  measured %8.2f ms  err %6.1f%% "
                        "(%6.1f%%)\n",
                        ps.latencyP50Ms, cs.latencyP50Ms, m.summary.latencyP50Ms,
                        ape(ps.latencyP50Ms, m.summary.latencyP50Ms),
                        ape(cs.latencyP50Ms, m.summary.latencyP50Ms));
            std::printf("    run  peak memory %10.0f B  measured %10.0f B  err %6.2f%% "
                        "(largest node scratch, included: %.0f B)\n",
                        static_cast<double>(p.peakMemoryBytes), m.peakMemory,
                        ape(static_cast<double>(p.peakMemoryBytes), m.peakMemory), [&] {
                            double scratch = 0;
                            for (const auto &stage : p.stages)
                                scratch += static_cast<double>(stage.peakScratchBytes);
                            return scratch;
                        }());
            std::printf("    run  page faults %.0f per run (measured, the process's)\n",
                        m.pageFaults);
            errors.throughput.push_back(ape(ps.throughput, m.summary.throughput));
            errors.latency.push_back(ape(ps.latencyP50Ms, m.summary.latencyP50Ms));
            errors.memory.push_back(ape(static_cast<double>(p.peakMemoryBytes), m.peakMemory));
            calibratedOnly.throughput.push_back(ape(cs.throughput, m.summary.throughput));
            calibratedOnly.latency.push_back(ape(cs.latencyP50Ms, m.summary.latencyP50Ms));
            std::fflush(stdout);
            return 0;
        };
        if (!sequential) {
            // Every plan of the model open at once, with the learning
            // probes, and measured in interleaved rounds: in each round
            // every probe and plan runs --cut-warm untimed iterations (its
            // own weights back in cache, as when it runs back to back) and
            // one timed one, the order reversing every other round. The
            // host's speed drifts by up to 20% over tens of seconds; this
            // way the drift falls on the learned factors and on every
            // plan's medians alike. The plans are chosen with factors
            // learned just before (as a user plans from stored runs); the
            // predictions use the factors the rounds' probes learned.
            struct PlanRun
            {
                int stages = 1, threads = 1, effective = 1;
                std::string note;
                std::unique_ptr<plan::LocalPipeline> pipeline;
                RunSamples samples;
            };
            std::vector<PlanRun> plans;
            for (int stages = 1; stages <= 3; ++stages) {
                auto devices = localDevices(stages);
                if (!devices)
                    return fail(name, devices.error());
                for (int microbatches : {1, 8}) {
                    auto pipeline = planAndOpen(*devices, stages, microbatches);
                    if (!pipeline)
                        return fail(name, pipeline.error());
                    if (!*pipeline)
                        continue;
                    PlanRun run;
                    run.stages = stages;
                    run.threads = devices->devices.front().threads;
                    run.effective = (*pipeline)->runner->effectiveMicrobatches(
                        model->inputs, microbatches, &run.note);
                    run.pipeline = std::move(*pipeline);
                    plans.push_back(std::move(run));
                }
            }
            // --learn-pooled: the factors learned before any plan stay.
            const bool learnInRounds = learn && !pooled;
            auto probes =
                learnInRounds ? probesFor(*model) : std::vector<std::unique_ptr<ClassProbe>>{};
            // Items 0..probes-1 are probes, the rest plans.
            auto runItem = [&](std::size_t item, bool timed) -> Status {
                if (item < probes.size())
                    return probes[item]->run(timed);
                PlanRun &run = plans[item - probes.size()];
                return runOnce(*run.pipeline->runner, model->inputs, run.effective,
                               timed ? &run.samples : nullptr);
            };
            const std::size_t items = probes.size() + plans.size();
            for (std::size_t item = 0; item < items; ++item)
                for (int r = 0; r < std::max(1, warmup); ++r)
                    if (Status ran = runItem(item, false); !ran.ok())
                        return fail(name, ran.error());
            for (int round = 0; round < planRounds; ++round)
                for (std::size_t i = 0; i < items; ++i) {
                    const std::size_t item = round % 2 ? items - 1 - i : i;
                    for (int w = 0; w < cutWarm; ++w)
                        if (Status ran = runItem(item, false); !ran.ok())
                            return fail(name, ran.error());
                    if (Status ran = runItem(item, true); !ran.ok())
                        return fail(name, ran.error());
                }
            if (learnInRounds)
                learnedByModel[name] = learnFromProbes(probes, 1);
            std::printf("  (%d interleaved rounds of %zu probe(s) and %zu plan(s))\n", planRounds,
                        probes.size(), plans.size());
            for (const PlanRun &run : plans) {
                const Measured m = run.samples.medians();
                if (int failed = report(*run.pipeline->runner, run.threads, run.effective, run.note,
                                        m, learnedByModel[name]))
                    return failed;
                if (nodes) {
                    std::printf("    per stage and class, ms per iteration (%d runs, node hook): "
                                "predicted / measured\n",
                                repeats);
                    auto p =
                        predict(*model, *run.pipeline->runner, learnedByModel[name], run.effective);
                    if (!p)
                        return fail(name, p.error());
                    if (Status shown = printNodeProfile(*model, *run.pipeline->runner, *p,
                                                        run.effective, repeats, verbose);
                        !shown.ok())
                        return fail(name, shown.error());
                }
            }
            continue;
        }
        for (int stages = 1; stages <= 3; ++stages) {
            // Learned again before each stage count (not with --learn-once):
            // the host's speed drifts by up to 20% over tens of seconds, and
            // a model's six plans take that long.
            if (stages > 1 && learn && !pooled && !learnOnce)
                learnedByModel[name] = learnFrom({model});
            auto devices = localDevices(stages);
            if (!devices)
                return fail(name, devices.error());
            for (int microbatches : {1, 8}) {
                auto pipeline = planAndOpen(*devices, stages, microbatches);
                if (!pipeline)
                    return fail(name, pipeline.error());
                if (!*pipeline)
                    continue;
                const PipelineRunner &runner = *(*pipeline)->runner;
                std::string note;
                const int effective =
                    runner.effectiveMicrobatches(model->inputs, microbatches, &note);
                // Measured first: the warm-up run makes the kernels' choices
                // between implementations (onednn.h), whose declared scratch
                // the prediction then uses; nothing measured goes into it.
                auto measured = measure(runner, model->inputs, effective, warmup, repeats);
                if (!measured)
                    return fail(name, measured.error());
                if (int failed = report(runner, devices->devices.front().threads, effective, note,
                                        *measured, learnedRates))
                    return failed;
                if (nodes) {
                    auto p = predict(*model, runner, learnedRates, effective);
                    if (!p)
                        return fail(name, p.error());
                    std::printf("    per stage and class, ms per iteration (%d runs, node hook): "
                                "predicted / measured\n",
                                repeats);
                    if (Status shown =
                            printNodeProfile(*model, runner, *p, effective, repeats, verbose);
                        !shown.ok())
                        return fail(name, shown.error());
                }
                std::fflush(stdout);
            }
        }
    }

    std::printf("\nabsolute percentage error (targets: stage median <= 10%%, p90 <= 20%%; "
                "throughput, latency median <= 10%%; memory <= 2%%)\n");
    std::printf(" calibrated + learned from runs:\n");
    printErrors("stage compute time", errors.stage);
    printErrors("run throughput", errors.throughput);
    printErrors("run latency p50", errors.latency);
    printErrors("run peak memory", errors.memory);
    if (!errors.memory.empty())
        std::printf("  %-22s max %6.2f%%\n", "run peak memory",
                    *std::max_element(errors.memory.begin(), errors.memory.end()));
    std::printf(" calibrated only:\n");
    printErrors("stage compute time", calibratedOnly.stage);
    printErrors("run throughput", calibratedOnly.throughput);
    printErrors("run latency p50", calibratedOnly.latency);

    // 4. Demo decoder: the planner's 2-stage cut vs every valid cut.
    auto demoModel = std::find_if(loaded.begin(), loaded.end(),
                                  [](const Model &m) { return m.name == "demo_decoder"; });
    if (cuts && demoModel != loaded.end()) {
        const Model &model = *demoModel;
        std::printf("\n== demo decoder: planner's 2-stage plan vs every 2-stage block cut (M=8)\n");
        auto devices = localDevices(2);
        if (!devices)
            return fail("cuts", devices.error());
        const plan::KernelRates &learnedRates = learnedByModel[model.name];
        auto chosen = planFor(model, *devices, learnedRates, 8);
        if (!chosen)
            return fail("cuts", chosen.error());
        std::vector<plan::PlanningUnit> units =
            plan::collapseUnits(*model.graph, std::vector<int>(model.graph->nodes().size(), -1));
        auto stageOf = [&](const plan::Plan &plan) {
            // The first unit on the second device: the cut.
            for (std::size_t u = 0; u < units.size(); ++u) {
                const auto &node = model.graph->node(units[u].firstNode);
                auto it = plan.assignment.find(node.name);
                if (it != plan.assignment.end() && it->second == devices->devices[1].id)
                    return u;
            }
            return units.size();
        };
        const std::size_t chosenCut = stageOf(*chosen);
        // Every valid cut open at once, then measured in interleaved rounds
        // (one iteration of each cut per round, in the same order): the
        // host's speed drifts over the seconds this takes, and cuts measured
        // one after another would each see a different phase of it.
        struct CutRun
        {
            std::size_t cut = 0;
            std::unique_ptr<plan::LocalPipeline> pipeline;
            std::vector<double> iterationMs;
            std::vector<std::vector<double>> stageMs; // per stage, per round
            // [stage][micro-batch] -> compute ms, one per round
            std::map<int, std::map<int, std::vector<double>>> eventMs;
        };
        std::vector<CutRun> runs;
        for (std::size_t cut = 1; cut < units.size(); ++cut) {
            plan::Split split;
            split.stages.push_back({0, 0, cut, 0, 0, 0});
            split.stages.push_back({1, cut, units.size(), 0, 0, 0});
            plan::Plan plan = plan::emitPlan(*model.graph, units, split, *devices,
                                             std::vector<int>(model.graph->nodes().size(), -1));
            plan.batch = kBatch;
            plan.microbatches = 8;
            auto pipeline = openPipeline(model, plan);
            if (!pipeline)
                continue; // not a valid cut (a value would flow backwards)
            runs.push_back({cut, std::move(*pipeline), {}, {}, {}});
        }
        if (std::none_of(runs.begin(), runs.end(),
                         [&](const CutRun &run) { return run.cut == chosenCut; })) {
            // Not one of the cuts above (e.g. one stage): measured alongside.
            auto pipeline = openPipeline(model, *chosen);
            if (!pipeline)
                return fail("cuts", pipeline.error());
            runs.push_back({chosenCut, std::move(*pipeline), {}, {}, {}});
        }
        PipelineRunOptions options;
        options.microbatches = 8;
        // One round: every cut in `order`, each run --cut-warm times untimed
        // and then once timed, so that the timed iteration finds its own
        // weights in cache as a plan run repeatedly does (and not the cut
        // before it's). Rounds alternate the order, so that no cut always
        // runs right after the same neighbour.
        auto runRound = [&](const std::vector<std::size_t> &order, bool timed,
                            bool reversed) -> Status {
            for (std::size_t k = 0; k < order.size(); ++k) {
                CutRun &run = runs[order[reversed ? order.size() - 1 - k : k]];
                for (int w = 0; w < cutWarm; ++w)
                    if (auto warm = run.pipeline->runner->run(model.inputs, options); !warm)
                        return warm.error();
                const auto started = Clock::now();
                auto result = run.pipeline->runner->run(model.inputs, options);
                if (!result)
                    return result.error();
                if (!timed)
                    continue;
                run.iterationMs.push_back(msSince(started));
                run.stageMs.resize(result->metrics.stages.size());
                for (std::size_t st = 0; st < result->metrics.stages.size(); ++st)
                    run.stageMs[st].push_back(result->metrics.stages[st].computeMs);
                for (const auto &event : result->metrics.timeline)
                    if (event.kind == "compute")
                        run.eventMs[event.stage][event.microbatch].push_back(event.endMs -
                                                                             event.startMs);
            }
            return {};
        };
        std::vector<std::size_t> everyCut(runs.size());
        for (std::size_t i = 0; i < runs.size(); ++i)
            everyCut[i] = i;
        for (int round = 0; round < warmup + cutRounds; ++round)
            if (Status done = runRound(everyCut, round >= warmup, round % 2 == 1); !done.ok())
                return fail("cuts", done.error());
        auto medianThroughput = [&](const CutRun &run) {
            return static_cast<double>(kBatch) * 1e3 / percentile(run.iterationMs, 50);
        };
        // 2. The contenders (within --contender-margin of the best median,
        // and the planner's cut) race on in --final-rounds rounds of their
        // own: closer in time to each other, so their comparison is paired
        // round by round rather than median against median of rounds up to
        // seconds apart.
        double firstBest = 0;
        for (const CutRun &run : runs)
            firstBest = std::max(firstBest, medianThroughput(run));
        std::vector<std::size_t> contenders;
        for (std::size_t i = 0; i < runs.size(); ++i)
            if (runs[i].cut == chosenCut || medianThroughput(runs[i]) >= firstBest * contenderShare)
                contenders.push_back(i);
        const std::size_t firstRounds = runs.front().iterationMs.size();
        if (contenders.size() > 1)
            for (int round = 0; round < finalRounds; ++round)
                if (Status done = runRound(contenders, true, round % 2 == 1); !done.ok())
                    return fail("cuts", done.error());
        double best = 0, chosenThroughput = 0;
        std::size_t bestIndex = 0, chosenIndex = 0;
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const CutRun &run = runs[i];
            const double throughput = medianThroughput(run);
            // The cost model's view of the same cut, beside what it measured.
            std::string stages;
            auto predicted = predict(model, *run.pipeline->runner, learnedRates, 8);
            for (std::size_t st = 0; st < run.stageMs.size(); ++st) {
                char text[64];
                std::snprintf(text, sizeof text, " %6.2f/%6.2f",
                              predicted && st < predicted->schedule.stageComputeMs.size()
                                  ? predicted->schedule.stageComputeMs[st]
                                  : 0.0,
                              percentile(run.stageMs[st], 50));
                stages += text;
            }
            std::printf("  cut before unit %3zu (%-28s) %8.2f samples/s (predicted %8.2f; %2zu "
                        "rounds); stage ms predicted/measured%s%s\n",
                        run.cut,
                        run.cut < units.size()
                            ? model.graph->node(units[run.cut].firstNode).name.substr(0, 28).c_str()
                            : "one stage",
                        throughput, predicted ? predicted->schedule.summary.throughput : 0.0,
                        run.iterationMs.size(), stages.c_str(),
                        run.cut == chosenCut ? "  <- planner" : "");
            if (throughput > best) {
                best = throughput;
                bestIndex = i;
            }
            if (run.cut == chosenCut) {
                chosenThroughput = throughput;
                chosenIndex = i;
            }
        }
        if (best > 0) {
            // Paired: per round, the best cut's iteration time over the
            // planner's (both ran in that round), then the median of those
            // ratios. Equal to the ratio of medians when the host holds still.
            std::vector<double> ratios;
            const CutRun &bestRun = runs[bestIndex], &chosenRun = runs[chosenIndex];
            // (Both ran every round when both are contenders, which the best
            // always is unless the contenders all slowed by the margin.)
            const std::size_t paired =
                std::min(bestRun.iterationMs.size(), chosenRun.iterationMs.size());
            for (std::size_t r = 0; r < paired; ++r)
                ratios.push_back(bestRun.iterationMs[r] / chosenRun.iterationMs[r]);
            std::printf("  %zu contender(s) within %.0f%% of the best after %zu rounds raced %d "
                        "more rounds\n",
                        contenders.size(), (1.0 - contenderShare) * 100.0, firstRounds,
                        contenders.size() > 1 ? finalRounds : 0);
            std::printf("  planner's cut %zu: %.1f%% of the best cut %zu, paired per round "
                        "(median of %zu; quartiles %.1f..%.1f%%); ratio of medians %.2f / %.2f "
                        "samples/s = %.1f%%; target >= 95%%\n",
                        chosenRun.cut, percentile(ratios, 50) * 100.0, bestRun.cut, ratios.size(),
                        percentile(ratios, 25) * 100.0, percentile(ratios, 75) * 100.0,
                        chosenThroughput, best, chosenThroughput / best * 100.0);
            if (cutNodes) {
                for (std::size_t index : {chosenIndex, bestIndex}) {
                    for (const auto &[stage, byMicrobatch] : runs[index].eventMs) {
                        std::printf("  cut %zu stage %d compute per micro-batch (median ms):",
                                    runs[index].cut, stage);
                        for (const auto &[mb, ms] : byMicrobatch)
                            std::printf(" %.2f", percentile(ms, 50));
                        std::printf("\n");
                    }
                }
                // Where the two differ: each cut's runs back to back, so
                // each finds its own weights in cache.
                std::vector<std::size_t> profiled = {chosenIndex};
                if (bestIndex != chosenIndex)
                    profiled.push_back(bestIndex);
                for (std::size_t index : profiled) {
                    const CutRun &run = runs[index];
                    auto predicted = predict(model, *run.pipeline->runner, learnedRates, 8);
                    if (!predicted)
                        return fail("cuts", predicted.error());
                    std::printf("  cut %zu per stage and class, ms per iteration (%d rounds, "
                                "node hook): predicted / measured\n",
                                run.cut, cutRounds);
                    if (Status shown = printNodeProfile(model, *run.pipeline->runner, *predicted, 8,
                                                        cutRounds, verbose);
                        !shown.ok())
                        return fail("cuts", shown.error());
                }
            }
        }
    }
    printUptime();
    std::printf("bench wall time %.0f s\n", msSince(benchStarted) / 1e3);
    return 0;
}
