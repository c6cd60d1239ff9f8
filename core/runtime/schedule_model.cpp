#include "core/runtime/schedule_model.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <tuple>
#include <utility>

namespace sb::runtime {

namespace {

constexpr double kEpsilon = 1e-9;

enum class Phase
{
    Wait,    // receiving the current micro-batch's inputs
    Compute, // running the executor
    Send,    // handing outputs to later stages, in stage order
    Done
};

struct StageState
{
    Phase phase = Phase::Wait;
    int microbatch = 0;
    double remainingMs = 0; // compute left at full speed, or transfer left
    bool transferring = false;
    std::size_t sendIndex = 0; // position in the destinations
    double waitStartMs = -1;
    double computeStartMs = 0;
    double computeMs = 0;
    // Time-sliced cores only: whether this micro-batch's compute has begun
    // (it had a core once), whether it holds a core now, and for how long.
    bool started = true;
    bool onCore = false;
    double sliceMs = 0;
    // Gated, ScheduleOptions::wokenWaitForComputeEnd: when its inputs
    // arrived while another stage computed (it waits for a compute to end
    // before it asks the gate); -1: not waiting so.
    double wokenAtMs = -1;
};

// The run summary of `out` as runtime::summarizeRuns gives it for
// `options.iterations` identical iterations.
void summarize(SchedulePrediction &out, const ScheduleOptions &options)
{
    const int iterations = std::max(1, options.iterations);
    std::vector<double> iterationMs(static_cast<std::size_t>(iterations),
                                    out.wallMs + options.iterationOverheadMs);
    std::vector<double> latencies;
    for (int i = 0; i < iterations; ++i)
        latencies.insert(latencies.end(), out.microbatchLatencyMs.begin(),
                         out.microbatchLatencyMs.end());
    out.summary = summarizeRuns(options.batch, iterationMs, latencies);
}

} // namespace

SchedulePrediction simulateSchedule(const std::vector<ScheduleStage> &stages,
                                    const ScheduleOptions &options)
{
    SchedulePrediction out;
    const int count = static_cast<int>(stages.size());
    const int microbatches = std::max(1, options.microbatches);
    if (count == 0)
        return out;
    // Sources of each stage (stages sending to it) and destinations in order.
    std::vector<std::vector<int>> sources(static_cast<std::size_t>(count));
    std::vector<std::vector<int>> destinations(static_cast<std::size_t>(count));
    for (int s = 0; s < count; ++s)
        for (const auto &[to, bytes] : stages[static_cast<std::size_t>(s)].sendBytes)
            if (to > s && to < count) {
                sources[static_cast<std::size_t>(to)].push_back(s);
                destinations[static_cast<std::size_t>(s)].push_back(to);
            }
    // Messages queued per link (from, to): arrival order = micro-batch order.
    std::map<std::pair<int, int>, int> queued;
    std::vector<std::uint64_t> queuedBytes(static_cast<std::size_t>(count), 0);
    out.peakQueuedBytes.assign(static_cast<std::size_t>(count), 0);
    std::vector<StageState> state(static_cast<std::size_t>(count));
    std::vector<double> mbStart(static_cast<std::size_t>(microbatches),
                                std::numeric_limits<double>::infinity());
    std::vector<double> mbEnd(static_cast<std::size_t>(microbatches), 0);
    const int depth = std::max(1, options.queueDepth);
    double now = 0;
    const bool gated = options.coreSlots > 0;
    bool sliced = !gated && options.timeSliceMs > 0 && options.cores > 0;
    double totalComputeMs = 0;
    for (const ScheduleStage &stage : stages) {
        sliced = sliced && stage.threads <= 1;
        totalComputeMs += stage.computeMs * microbatches;
    }
    // Gated or time-sliced, a computing stage runs only while it holds a
    // core (StageState::onCore); else every computing stage runs.
    const bool coreQueue = gated || sliced;
    auto gateUnits = [&](int s) {
        return std::clamp(stages[static_cast<std::size_t>(s)].threads, 1, options.coreSlots);
    };
    // No finer than 1/100,000 of the run's compute: the replay stays within
    // its event budget however long the stages (a slice that short against
    // the stages already shares the cores as processor sharing would).
    const double sliceMs = std::max(options.timeSliceMs, totalComputeMs / 1e5);
    std::deque<int> waitingForCore; // gated, time-sliced: computing stages without a core
    std::vector<int> wokenPending;  // gated: woken stages not yet asking the gate

    auto bytesOn = [&](int from, int to) {
        const auto &sends = stages[static_cast<std::size_t>(from)].sendBytes;
        auto it = sends.find(to);
        return it == sends.end() ? std::uint64_t{0} : it->second;
    };
    auto transferMs = [&](int from, int to) {
        const auto &sends = stages[static_cast<std::size_t>(from)].sendMs;
        auto it = sends.find(to);
        return it == sends.end() ? 0.0 : it->second;
    };
    auto deliver = [&](int from, int to) {
        ++queued[{from, to}];
        auto &bytes = queuedBytes[static_cast<std::size_t>(to)];
        bytes += bytesOn(from, to);
        out.peakQueuedBytes[static_cast<std::size_t>(to)] =
            std::max(out.peakQueuedBytes[static_cast<std::size_t>(to)], bytes);
    };
    auto finishMicrobatch = [&](int s) {
        StageState &st = state[static_cast<std::size_t>(s)];
        mbEnd[static_cast<std::size_t>(st.microbatch)] =
            std::max(mbEnd[static_cast<std::size_t>(st.microbatch)], now);
        ++st.microbatch;
        st.sendIndex = 0;
        st.waitStartMs = -1;
        st.phase = st.microbatch >= microbatches ? Phase::Done : Phase::Wait;
    };

    for (int guard = 0; guard < 1000000; ++guard) {
        bool computeEnded = false;
        // Instant transitions until nothing changes.
        for (bool changed = true; changed;) {
            changed = false;
            for (int s = 0; s < count; ++s) {
                StageState &st = state[static_cast<std::size_t>(s)];
                const auto &from = sources[static_cast<std::size_t>(s)];
                if (st.phase == Phase::Wait) {
                    if (!from.empty() && st.waitStartMs < 0)
                        st.waitStartMs = now; // the runtime's "receive" event starts
                    bool ready = true;
                    for (int source : from)
                        ready = ready && queued[{source, s}] > 0;
                    if (!ready)
                        continue;
                    for (int source : from) {
                        --queued[{source, s}];
                        queuedBytes[static_cast<std::size_t>(s)] -= bytesOn(source, s);
                    }
                    auto mb = static_cast<std::size_t>(st.microbatch);
                    if (!from.empty())
                        mbStart[mb] = std::min(mbStart[mb], st.waitStartMs);
                    st.phase = Phase::Compute;
                    st.remainingMs = stages[static_cast<std::size_t>(s)].computeMs;
                    if (sliced) {
                        // Woken by its input: ahead of the stages put off a
                        // core mid-micro-batch (the OS owes a thread that slept).
                        st.started = false;
                        waitingForCore.insert(
                            std::find_if(
                                waitingForCore.begin(), waitingForCore.end(),
                                [&](int w) { return state[static_cast<std::size_t>(w)].started; }),
                            s);
                    } else if (gated) {
                        // Asks the gate once its inputs are in: first come,
                        // first served. Woken (it was waiting for them)
                        // while another stage computes, it asks only once a
                        // compute has ended (below).
                        st.started = false;
                        bool otherComputing = false;
                        for (int o = 0; o < count; ++o)
                            otherComputing = otherComputing ||
                                             (o != s && state[static_cast<std::size_t>(o)].onCore);
                        if (options.wokenWaitForComputeEnd && !from.empty() &&
                            st.waitStartMs < now - kEpsilon && otherComputing) {
                            st.wokenAtMs = now;
                            wokenPending.push_back(s);
                        } else {
                            waitingForCore.push_back(s);
                        }
                    } else {
                        st.computeStartMs = now;
                        if (from.empty())
                            mbStart[mb] = std::min(mbStart[mb], now);
                    }
                    changed = true;
                }
                if (st.phase == Phase::Compute && st.started && st.remainingMs <= kEpsilon) {
                    computeEnded = true;
                    st.onCore = false;
                    auto mb = static_cast<std::size_t>(st.microbatch);
                    mbEnd[mb] = std::max(mbEnd[mb], now);
                    out.computeSpans.push_back({s, st.microbatch, st.computeStartMs, now});
                    st.phase = Phase::Send;
                    st.transferring = false;
                    changed = true;
                }
                while (st.phase == Phase::Send) {
                    const auto &to = destinations[static_cast<std::size_t>(s)];
                    if (st.sendIndex >= to.size()) {
                        finishMicrobatch(s);
                        changed = true;
                        // Gated: a stage going on to its next micro-batch,
                        // its inputs already in, asks the gate before the
                        // stages it has just woken (they have to wake up
                        // first); it looks again at once.
                        if (gated && st.phase == Phase::Wait)
                            --s;
                        break;
                    }
                    const int d = to[st.sendIndex];
                    if (st.transferring) {
                        if (st.remainingMs > kEpsilon)
                            break;
                        deliver(s, d);
                        st.transferring = false;
                        ++st.sendIndex;
                        if (st.sendIndex >= to.size())
                            mbEnd[static_cast<std::size_t>(st.microbatch)] =
                                std::max(mbEnd[static_cast<std::size_t>(st.microbatch)], now);
                        changed = true;
                        continue;
                    }
                    if (queued[{s, d}] >= depth)
                        break; // back-pressure
                    st.transferring = true;
                    st.remainingMs = transferMs(s, d);
                    changed = true;
                }
            }
        }
        if (sliced) {
            int free = options.cores;
            for (const StageState &st : state)
                free -= st.onCore ? 1 : 0;
            // A woken stage first in line with every core taken displaces
            // the stage that has held its core longest, as the OS's wake-up
            // preemption does; the displaced stage queues behind the waiting
            // ones, its compute still under way. A stage that has only just
            // got its core keeps it: with every core just handed over, the
            // woken stage waits for the next event.
            while (free == 0 && !waitingForCore.empty() &&
                   !state[static_cast<std::size_t>(waitingForCore.front())].started) {
                int displaced = -1;
                for (int v = 0; v < count; ++v) {
                    const StageState &candidate = state[static_cast<std::size_t>(v)];
                    if (candidate.onCore && candidate.sliceMs > kEpsilon &&
                        (displaced < 0 ||
                         candidate.sliceMs > state[static_cast<std::size_t>(displaced)].sliceMs))
                        displaced = v;
                }
                if (displaced < 0)
                    break;
                state[static_cast<std::size_t>(displaced)].onCore = false;
                waitingForCore.push_back(displaced);
                ++free;
            }
            // Free cores go to the waiting stages in queue order.
            while (free > 0 && !waitingForCore.empty()) {
                const int s = waitingForCore.front();
                waitingForCore.pop_front();
                StageState &st = state[static_cast<std::size_t>(s)];
                st.onCore = true;
                st.sliceMs = 0;
                --free;
                if (!st.started) {
                    st.started = true;
                    st.computeStartMs = now;
                    if (sources[static_cast<std::size_t>(s)].empty()) {
                        auto mb = static_cast<std::size_t>(st.microbatch);
                        mbStart[mb] = std::min(mbStart[mb], now);
                    }
                }
            }
        }
        if (gated) {
            // Woken stages ask the gate behind the stages that went on to
            // their next micro-batch at this instant: those woken before a
            // compute that has now ended, or all of them when nothing
            // computes or asks (nothing else would end).
            bool anyOnCore = false;
            for (const StageState &st : state)
                anyOnCore = anyOnCore || st.onCore;
            const bool flushAll = !anyOnCore && waitingForCore.empty();
            for (auto it = wokenPending.begin(); it != wokenPending.end();) {
                StageState &st = state[static_cast<std::size_t>(*it)];
                if (flushAll || (computeEnded && st.wokenAtMs < now - kEpsilon)) {
                    st.wokenAtMs = -1;
                    waitingForCore.push_back(*it);
                    it = wokenPending.erase(it);
                } else {
                    ++it;
                }
            }
            int free = options.coreSlots;
            for (int s = 0; s < count; ++s)
                free -= state[static_cast<std::size_t>(s)].onCore ? gateUnits(s) : 0;
            // In line, as long as the first one's units are free.
            while (!waitingForCore.empty() && gateUnits(waitingForCore.front()) <= free) {
                const int s = waitingForCore.front();
                waitingForCore.pop_front();
                StageState &st = state[static_cast<std::size_t>(s)];
                st.onCore = true;
                st.started = true;
                st.computeStartMs = now;
                free -= gateUnits(s);
                if (sources[static_cast<std::size_t>(s)].empty()) {
                    auto mb = static_cast<std::size_t>(st.microbatch);
                    mbStart[mb] = std::min(mbStart[mb], now);
                }
            }
        }
        // Next event: a compute or a transfer ending (time-sliced: or a slice).
        int busyThreads = 0;
        for (int s = 0; s < count; ++s) {
            const StageState &st = state[static_cast<std::size_t>(s)];
            if (st.phase == Phase::Compute && (!coreQueue || st.onCore))
                busyThreads += std::max(1, stages[static_cast<std::size_t>(s)].threads);
        }
        const double sharing =
            !sliced && options.cores > 0 && busyThreads > options.cores
                ? static_cast<double>(options.cores) / static_cast<double>(busyThreads)
                : 1.0;
        const int busyCores =
            options.cores > 0 ? std::min(options.cores, busyThreads) : busyThreads;
        std::vector<double> speed(static_cast<std::size_t>(count), sharing);
        for (int s = 0; s < count; ++s) {
            const ScheduleStage &stage = stages[static_cast<std::size_t>(s)];
            // Never faster than alone (fewer cores busy than its own threads:
            // processor sharing above already slows it).
            if (stage.contention > 0)
                speed[static_cast<std::size_t>(s)] *=
                    std::min(1.0, (1.0 + stage.contention * (std::max(1, stage.threads) - 1)) /
                                      (1.0 + stage.contention * std::max(0, busyCores - 1)));
        }
        double step = std::numeric_limits<double>::infinity();
        bool allDone = true;
        for (int s = 0; s < count; ++s) {
            const StageState &st = state[static_cast<std::size_t>(s)];
            allDone = allDone && st.phase == Phase::Done;
            if (st.phase == Phase::Compute && (!coreQueue || st.onCore)) {
                step = std::min(step, st.remainingMs / speed[static_cast<std::size_t>(s)]);
                if (sliced && !waitingForCore.empty())
                    step = std::min(step, std::max(0.0, sliceMs - st.sliceMs));
            } else if (st.phase == Phase::Send && st.transferring) {
                step = std::min(step, st.remainingMs);
            }
        }
        if (allDone)
            break;
        if (step == std::numeric_limits<double>::infinity()) {
            out.deadlocked = true;
            break;
        }
        now += step;
        for (int s = 0; s < count; ++s) {
            StageState &st = state[static_cast<std::size_t>(s)];
            if (st.phase == Phase::Compute) {
                if (!coreQueue || st.onCore) {
                    st.remainingMs =
                        std::max(0.0, st.remainingMs - step * speed[static_cast<std::size_t>(s)]);
                    st.sliceMs += step;
                }
                if (st.started)
                    st.computeMs += step;
            } else if (st.phase == Phase::Send && st.transferring) {
                st.remainingMs = std::max(0.0, st.remainingMs - step);
            }
        }
        // Time-sliced: a stage whose slice ran out while another waits queues
        // behind it (unless it has just finished).
        if (sliced && !waitingForCore.empty())
            for (int s = 0; s < count; ++s) {
                StageState &st = state[static_cast<std::size_t>(s)];
                if (st.onCore && st.remainingMs > kEpsilon && st.sliceMs >= sliceMs - kEpsilon) {
                    st.onCore = false;
                    waitingForCore.push_back(s);
                }
            }
    }

    out.wallMs = now;
    for (const StageState &st : state) {
        out.stageComputeMs.push_back(st.computeMs);
        out.stageIdleMs.push_back(std::max(0.0, now - st.computeMs));
    }
    out.bubbleFraction = bubbleFraction(out.stageComputeMs, now);
    std::sort(out.computeSpans.begin(), out.computeSpans.end(),
              [](const ScheduleSpan &a, const ScheduleSpan &b) {
                  return std::tie(a.startMs, a.stage, a.microbatch) <
                         std::tie(b.startMs, b.stage, b.microbatch);
              });
    for (int mb = 0; mb < microbatches; ++mb) {
        const auto i = static_cast<std::size_t>(mb);
        out.microbatchLatencyMs.push_back(
            mbStart[i] == std::numeric_limits<double>::infinity() ? 0 : mbEnd[i] - mbStart[i]);
    }
    summarize(out, options);
    return out;
}

void stretchSchedule(SchedulePrediction &prediction, double factor, const ScheduleOptions &options)
{
    if (factor <= 0 || factor == 1.0)
        return;
    prediction.wallMs *= factor;
    for (ScheduleSpan &span : prediction.computeSpans) {
        span.startMs *= factor;
        span.endMs *= factor;
    }
    for (double &latency : prediction.microbatchLatencyMs)
        latency *= factor;
    for (std::size_t s = 0; s < prediction.stageComputeMs.size(); ++s)
        prediction.stageIdleMs[s] = std::max(0.0, prediction.wallMs - prediction.stageComputeMs[s]);
    prediction.bubbleFraction = bubbleFraction(prediction.stageComputeMs, prediction.wallMs);
    summarize(prediction, options);
}

SchedulePrediction simulateChain(const std::vector<double> &stageMs, int microbatches,
                                 std::int64_t batch)
{
    std::vector<ScheduleStage> chain(stageMs.size());
    for (std::size_t s = 0; s < chain.size(); ++s) {
        chain[s].computeMs = std::max(0.0, stageMs[s]);
        if (s + 1 < chain.size())
            chain[s].sendBytes[static_cast<int>(s + 1)] = 0; // a hand-over, priced in stageMs
    }
    ScheduleOptions options;
    options.microbatches = std::max(1, microbatches);
    options.batch = batch;
    return simulateSchedule(chain, options);
}

} // namespace sb::runtime
