// Pipeline schedule model: what a PipelineRunner run of given per-stage
// times will measure, before it runs. It replays the StageWorker loop
// (pipeline.cpp) as a discrete-event simulation:
//  - a stage handles micro-batches in order: receive every input of the
//    micro-batch (from the driver: always ready; from an earlier stage: once
//    that stage sent it), compute, then send to each later stage that reads
//    its outputs, in stage order;
//  - a link holds at most `queueDepth` messages (kPipelineQueueDepth, the
//    transports' back-pressure): a send blocks until the receiver took one;
//  - a send with a transfer time keeps the sender busy that long before the
//    message arrives (shared memory: 0; the copy into a transfer buffer is
//    not priced);
//  - with the runner's core gate (ScheduleOptions::coreSlots, below), stages
//    take turns at the cores, first come first served; else computing
//    stages share `cores`. By processor sharing (the default):
//    with more busy threads than cores each runs at cores / busy threads of
//    full speed. Or, with ScheduleOptions::timeSliceMs > 0 when every stage
//    has one thread, time-sliced as the OS scheduler runs them: a stage whose
//    inputs arrived while every core computes waits for one (idle: it has
//    not returned from its receive yet), queued ahead of stages put off a
//    core mid-micro-batch, and takes the core of the stage that has held
//    one longest (wake-up preemption: the OS favours a thread that slept);
//    when every core has only just been handed over, at the next event (a
//    slice, a compute or a transfer ending).
//    A stage on a core computes at full speed until it is done, or has had
//    its slice while another stage waits, and then queues again behind the
//    waiting ones (compute time: its executor run is under way).
//    Micro-batches of about a slice then mostly run through unshared and the
//    wait falls between them; long ones share as before.
// A computing stage also slows by its `contention` with the other busy cores
// (caches, memory bandwidth shared).
// The figures are defined exactly as the runtime measures them: a stage's
// compute time is the wall time of its executor runs, idle = wall - compute,
// bubble = sum idle / (stages * wall), a micro-batch's latency runs from its
// first event (stage 0 computing it, or a later stage starting to wait for
// it) to its last (a compute or a stage-to-stage send ending), and the run
// summary is runtime::summarizeRuns over `iterations` identical iterations.
#pragma once

#include "core/runtime/pipeline_transport.h"
#include "core/runtime/run_summary.h"

#include <cstdint>
#include <map>
#include <vector>

namespace sb::runtime {

struct ScheduleStage
{
    double computeMs = 0; // one micro-batch, at full speed
    int threads = 1;      // busy threads while computing (for processor sharing)
    // Slowdown per other busy core: with b of `cores` busy (its own threads
    // included) it computes at min(1, (1 + contention (threads - 1)) /
    // (1 + contention (b - 1))) of full speed (plan::StagePrediction::contention).
    double contention = 0;
    // Later stages this stage sends to -> bytes and transfer ms per micro-batch.
    std::map<int, std::uint64_t> sendBytes;
    std::map<int, double> sendMs;
};

// The slice plan::predictPipeline models 1-thread stages on shared cores
// with: EEVDF's unscaled base slice (Linux 6.6+, `base_slice_ns` 750000).
// Fitted, not read from the kernel, on 2 vCPUs (Linux 6.18) with
// cost_model_bench. With woken stages waiting in FIFO order, 0.75 ms fitted
// best (stage-time p90 16.6-19.0% in five runs; processor sharing
// 17.6-24.2%; 3 ms and unbounded worse). With wake-up preemption (above), six
// rounds of runs at 0.75, 3 and 6 ms in turn gave p90 17.8 / 18.9 / 22.6 /
// 20.1 / 25.8 / 22.4% at 0.75 ms, 18.4 / 18.3 / 11.1 / 16.8 / 24.8 / 13.9% at
// 3 ms, and 18.7 / 25.0 / 25.3% at 6 ms (rounds 4-6); 3-stage runs at 8
// micro-batches, p90 32.4% at 0.75 ms, 22.8% at 3 ms.
inline constexpr double kSchedulerTimeSliceMs = 3.0;

struct ScheduleOptions
{
    int microbatches = 1;
    int queueDepth = kPipelineQueueDepth;
    int cores = 0; // 0: as many cores as busy threads (no sharing)
    // > 0: time-sliced cores (see above) when every stage has one thread;
    // 0, or a stage of more threads: processor sharing.
    double timeSliceMs = 0;
    // > 0: the runner's core gate (PipelineRunner::coreSlots, CoreGate): a
    // stage whose inputs are in waits until its threads (at most coreSlots)
    // fit into the coreSlots not held by computing stages, in the order the
    // stages asked (at one instant: a stage going on to its next micro-batch
    // before the stages it has just woken, else lower stage first), then
    // computes without a break;
    // the wait is idle time. The stages holding slots share `cores` by
    // processor sharing when they have more threads. Overrides timeSliceMs.
    int coreSlots = 0;
    // Gated: a stage whose inputs arrive while it waits for them and another
    // stage computes asks the gate only when a compute next ends, behind the
    // stages going on to their next micro-batch then (idle until then). Why:
    // the runtime's timelines of 3-stage plans at 8 micro-batches on 2 vCPUs
    // show woken stages starting only when a compute ended, 1-2 ms after
    // their input arrived, even with a core free (the OS likely queues the
    // woken thread on the CPU it last ran on, which the gate gave to a
    // computing stage). With it the bench's 3-stage, 8-micro-batch
    // throughput errors went from a median of 22.7% to 14.8% (mean 18.7 to
    // 17.2%; 5 models, 3 runs each; bench/README.md). false: it asks at once.
    bool wokenWaitForComputeEnd = true;
    std::int64_t batch = 1;
    int iterations = 1;
    // Added to each iteration's wall time (the driver splitting the batch and
    // joining outputs), not to the micro-batch latencies.
    double iterationOverheadMs = 0;
};

// One stage computing one micro-batch, from its start to its end.
struct ScheduleSpan
{
    int stage = 0;
    int microbatch = 0;
    double startMs = 0;
    double endMs = 0;
};

struct SchedulePrediction
{
    double wallMs = 0;
    std::vector<ScheduleSpan> computeSpans; // one iteration, by start, then stage
    std::vector<double> stageComputeMs;     // whole run, per stage
    std::vector<double> stageIdleMs;
    // Per receiving stage: most bytes of messages waiting in its queues (what
    // a link without transfer buffers holds; see Transport::useTransferBuffers).
    std::vector<std::uint64_t> peakQueuedBytes;
    std::vector<double> microbatchLatencyMs;
    double bubbleFraction = 0;
    RunSummary summary;
    bool deadlocked = false; // a routing the runtime could not run either
};

// Stages must only send to later stages (the runtime's routing rule).
[[nodiscard]] SchedulePrediction simulateSchedule(const std::vector<ScheduleStage> &stages,
                                                  const ScheduleOptions &options);

// `prediction` (of simulateSchedule with `options`) with its wall time, spans
// and micro-batch latencies `factor` times as long, idle time, bubble and
// summary to match; stage compute unchanged. For a measured correction of
// what the model leaves out (KernelRates::scheduleFactorFits, ...).
void stretchSchedule(SchedulePrediction &prediction, double factor, const ScheduleOptions &options);

// The what-if schedule of a plan before it runs: its stages as a chain, stage
// s taking stageMs[s] per micro-batch (compute and receiving its inputs, as
// plan::StageEstimate::seconds() prices it) and handing each micro-batch to
// the next stage, `microbatches` of `batch` / `microbatches` samples. Its
// wall time is sum(stageMs) + (M - 1) x max(stageMs), the plan estimate's
// latency.
[[nodiscard]] SchedulePrediction simulateChain(const std::vector<double> &stageMs, int microbatches,
                                               std::int64_t batch);

} // namespace sb::runtime
