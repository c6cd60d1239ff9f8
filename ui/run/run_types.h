// What the Runs page asks for and what a run reports back, independent of
// the runtime's types (run_backend.cpp converts).
#pragma once

#include "ui/run/timeline_model.h"

#include <nlohmann/json.hpp>

#include <QString>
#include <QStringList>
#include <QVector>

#include <functional>
#include <vector>

namespace sb::ui {

struct RunConfig
{
    enum class Inputs
    {
        Synthetic,
        Npy,
        Dataset
    };
    Inputs inputs = Inputs::Synthetic;
    int batch = 8;
    int microbatches = 4;
    int iterations = 5;
    QString inputPath; // .npy file or dataset .csv
    QString tracePath; // Chrome trace written here when set
};

struct RunStage
{
    QString device;
    int nodes = 0;
    double computeMs = 0;
    double idleMs = 0;
    quint64 peakMemoryBytes = 0;   // measured
    quint64 ledgerMemoryBytes = 0; // ledger estimate: activations + transfer buffers
    quint64 sentBytes = 0;
    QString host; // where the stage ran (MPI: the host name given)
    int rank = 0; // MPI rank (0 in-process)
    // The cost model's prediction (core/plan/predict.h); < 0 when none.
    double predictedComputeMs = -1; // whole run, as computeMs
    quint64 predictedPeakMemoryBytes = 0;
};

struct RunIteration
{
    int index = 0;
    double wallMs = 0;
    double throughput = 0; // samples per second
    double latencyP50Ms = 0;
};

struct RunOutcome
{
    QString label;
    RunConfig config;
    int microbatchesUsed = 1;
    QString microbatchNote;
    QVector<RunStage> stages;
    QVector<RunIteration> iterations;
    QVector<TimelineSpan> timeline; // last iteration
    double bubble = 0;
    double idealBubble = 0;
    double throughput = 0;
    double latencyP50 = 0, latencyP90 = 0, latencyP95 = 0, latencyP99 = 0;
    QString tracePath;
    double worstStallMs = 0; // GUI-thread stall during the run (probe)
    qint64 storeId = 0;      // the store's run id once saved (0 = not stored)
    QString startedAt;       // UTC ISO 8601
    QString finishedAt;
    QString modelName;     // file name of the model that ran
    bool estimate = false; // a what-if estimate, not a measurement
    // The cost model's prediction of the run, made before it ran (in-process
    // runs); predictedJson is plan::predictionJson, stored with the run.
    bool hasPrediction = false;
    double predictedThroughput = 0, predictedLatencyP50 = 0;
    QString predictedJson;
    // A run made in this session: every micro-batch latency of its timed
    // iterations, and its JSON (workflows::planRunJson, the keys `run --plan
    // --json` prints). Empty for stored runs and estimates.
    std::vector<double> latenciesMs;
    nlohmann::json runJson;
};

// Live updates from a running run (delivered on the GUI thread).
struct RunLive
{
    RunIteration iteration;
    QVector<TimelineSpan> timeline;
};

} // namespace sb::ui
