// Pipelined runs reproduce single-device runs; cancel and stage failures stop
// cleanly; the transport's queues behave.
#include "core/graph/onnx_import.h"
#include "core/plan/local_run.h"
#include "core/plan/model_facts.h"
#include "core/plan/planner.h"
#include "core/plan/validate.h"
#include "core/runtime/executor.h"
#include "core/runtime/message_frame.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/tensor_io.h"
#include "kernels/gpu_info.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <QtTest/QtTest>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

using namespace sb;
using namespace sb::runtime;

namespace {

struct Fixture
{
    std::shared_ptr<graph::Graph> graph;
    TensorMap inputs;
    TensorMap reference; // single-device outputs
};

nlohmann::json manifest()
{
    std::ifstream in(SB_TESTDATA_DIR "/models/manifest.json");
    return nlohmann::json::parse(in);
}

Fixture loadFixture(const std::string &name, std::vector<std::unique_ptr<CpuDevice>> &devices)
{
    Fixture fixture;
    const nlohmann::json doc = manifest(); // keep alive across the loop
    for (const auto &model : doc["models"]) {
        if (model["name"] != name)
            continue;
        auto graph = graph::importOnnxFile(std::string(SB_TESTDATA_DIR "/models/") +
                                           model["file"].get<std::string>());
        if (!graph)
            qFatal("%s", graph.error().message.c_str());
        fixture.graph = *graph;
        for (const auto &input : model["inputs"]) {
            auto tensor = readTensorFile(std::string(SB_TESTDATA_DIR "/models/") +
                                         input["file"].get<std::string>());
            if (!tensor)
                qFatal("%s", tensor.error().message.c_str());
            fixture.inputs[input["name"].get<std::string>()] = *tensor;
        }
    }
    if (!fixture.graph)
        qFatal("no fixture %s", name.c_str());
    auto executor = Executor::create(fixture.graph, *devices.front());
    if (!executor)
        qFatal("%s", executor.error().message.c_str());
    auto ran = (*executor)->run(fixture.inputs);
    if (!ran)
        qFatal("%s", ran.error().message.c_str());
    fixture.reference = ran->outputs;
    return fixture;
}

// max |a - b| / max |b| over an output (the manifest's error rule).
double relativeError(const Tensor &actual, const Tensor &expected)
{
    if (actual.shape() != expected.shape() || actual.type() != expected.type())
        return 1e30;
    if (expected.type() != graph::ElementType::Float32) {
        return std::memcmp(actual.data(), expected.data(), expected.byteSize()) == 0 ? 0.0 : 1e30;
    }
    double maxAbs = 0, maxRef = 0;
    for (std::int64_t i = 0; i < expected.elementCount(); ++i) {
        maxAbs =
            std::max(maxAbs, std::abs(double(actual.as<float>()[i]) - expected.as<float>()[i]));
        maxRef = std::max(maxRef, std::abs(double(expected.as<float>()[i])));
    }
    return maxRef > 0 ? maxAbs / maxRef : maxAbs;
}

std::vector<PipelineStageSpec> randomSplit(const graph::Graph &graph, int stages,
                                           std::mt19937 &random,
                                           std::vector<std::unique_ptr<CpuDevice>> &devices)
{
    const auto nodes = static_cast<int>(graph.nodes().size());
    std::vector<int> cuts;
    while (static_cast<int>(cuts.size()) < stages - 1) {
        int cut = 1 + static_cast<int>(random() % static_cast<unsigned>(nodes - 1));
        if (std::find(cuts.begin(), cuts.end(), cut) == cuts.end())
            cuts.push_back(cut);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.push_back(nodes);
    std::vector<PipelineStageSpec> specs;
    int begin = 0;
    for (int s = 0; s < stages; ++s) {
        PipelineStageSpec spec;
        spec.device = devices[static_cast<std::size_t>(s)].get();
        for (int n = begin; n < cuts[static_cast<std::size_t>(s)]; ++n)
            spec.nodes.push_back(n);
        begin = cuts[static_cast<std::size_t>(s)];
        specs.push_back(spec);
    }
    return specs;
}

// Three 1-thread CPU devices cpu:0..2 of equal rates with `memoryBytes` each.
plan::DeviceSet threeCpuDevices(std::uint64_t memoryBytes)
{
    plan::DeviceSet devices;
    for (int i = 0; i < 3; ++i) {
        plan::DeviceSpec spec;
        spec.id = "cpu:" + std::to_string(i);
        spec.kind = "cpu";
        spec.threads = 1;
        spec.flops = 1e10;
        spec.memoryBandwidth = 1e10;
        spec.memoryBytes = memoryBytes;
        devices.devices.push_back(spec);
    }
    return devices;
}

} // namespace

class TestPipeline : public QObject
{
    Q_OBJECT

    std::vector<std::unique_ptr<CpuDevice>> m_devices;

    // Every 2-stage cut of `graph` (nodes 0..cut-1 on cpu:0, the rest on
    // cpu:1) and three random 3-way splits reproduce `reference` exactly, or
    // within `atol` where given.
    void checkSplitsMatch(const std::shared_ptr<graph::Graph> &graph, const TensorMap &inputs,
                          const TensorMap &reference, unsigned seed, double atol = 0)
    {
        auto check = [&](const TensorMap &outputs, const QString &what) {
            for (const auto &[name, expected] : reference) {
                const CompareResult cmp = compareTensors(outputs.at(name), expected, 0, atol);
                QVERIFY2(cmp.ok, qPrintable(what + " output " + QString::fromStdString(name) +
                                            ": max abs error " + QString::number(cmp.maxAbsError)));
            }
        };
        const auto nodes = static_cast<int>(graph->nodes().size());
        std::vector<PipelineStageSpec> specs(2);
        for (int cut = 1; cut < nodes; ++cut) {
            specs[0] = PipelineStageSpec{};
            specs[1] = PipelineStageSpec{};
            specs[0].device = m_devices[0].get();
            specs[1].device = m_devices[1].get();
            for (int n = 0; n < nodes; ++n)
                specs[n < cut ? 0 : 1].nodes.push_back(n);
            auto runner = PipelineRunner::create(graph, specs);
            QVERIFY2(runner.ok(), runner.ok() ? "" : runner.error().message.c_str());
            auto result = (*runner)->run(inputs, {});
            QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
            check(result->outputs, QString("cut %1").arg(cut));
        }
        std::mt19937 random(seed);
        for (int trial = 0; trial < 3; ++trial) {
            auto runner = PipelineRunner::create(graph, randomSplit(*graph, 3, random, m_devices));
            QVERIFY(runner.ok());
            auto result = (*runner)->run(inputs, {});
            QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
            check(result->outputs, QString("3-way split %1").arg(trial));
        }
    }

    // The model tests/data/MODEL with the file tests/data/FILE as its input
    // `inputName`, run whole on cpu:0: the outputs every split must reproduce.
    struct WholeRun
    {
        std::shared_ptr<graph::Graph> graph;
        TensorMap inputs, outputs;
    };
    void runWhole(const char *model, const char *inputName, const char *file, WholeRun &run)
    {
        auto graph = graph::importOnnxFile(std::string(SB_TESTDATA_DIR "/") + model);
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        auto input = readTensorFile(std::string(SB_TESTDATA_DIR "/") + file);
        QVERIFY(input.ok());
        run.graph = *graph;
        run.inputs = {{inputName, *input}};
        auto single = Executor::create(run.graph, *m_devices.front());
        QVERIFY(single.ok());
        auto reference = (*single)->run(run.inputs);
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        run.outputs = reference->outputs;
    }

private slots:
    void initTestCase()
    {
        for (int i = 0; i < 3; ++i)
            m_devices.push_back(std::make_unique<CpuDevice>("cpu:" + std::to_string(i), 1, 0,
                                                            kernels::defaultRegistry()));
    }

    void randomSplitsMatchSingleDevice_data()
    {
        QTest::addColumn<QString>("model");
        for (const char *model :
             {"resnet_tiny", "mobilenet_tiny", "bert_tiny", "gpt_tiny", "mlp", "baked_batch"})
            QTest::newRow(model) << QString(model);
    }
    void randomSplitsMatchSingleDevice()
    {
        QFETCH(QString, model);
        Fixture fixture = loadFixture(model.toStdString(), m_devices);
        std::mt19937 random(static_cast<std::uint32_t>(qHash(model)));
        for (int trial = 0; trial < 4; ++trial) {
            const int stages = 2 + trial % 2;
            auto specs = randomSplit(*fixture.graph, stages, random, m_devices);
            auto runner = PipelineRunner::create(fixture.graph, specs);
            QVERIFY2(runner.ok(), runner.ok() ? "" : runner.error().message.c_str());
            for (int microbatches : {1, 2}) {
                PipelineRunOptions options;
                options.microbatches = microbatches;
                auto result = (*runner)->run(fixture.inputs, options);
                QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
                for (const auto &[name, expected] : fixture.reference) {
                    QVERIFY(result->outputs.count(name));
                    double error = relativeError(result->outputs.at(name), expected);
                    QVERIFY2(error <= 1e-5,
                             qPrintable(QString("%1 trial %2 M=%3 output %4: rel error %5")
                                            .arg(model)
                                            .arg(trial)
                                            .arg(microbatches)
                                            .arg(QString::fromStdString(name))
                                            .arg(error)));
                }
                const auto &metrics = result->metrics;
                QCOMPARE(metrics.stages.size(), std::size_t(stages));
                if (model == "baked_batch") {
                    QCOMPARE(metrics.microbatches, 1);
                    if (microbatches > 1)
                        QVERIFY(QString::fromStdString(metrics.microbatchNote).contains("baked"));
                } else {
                    QCOMPARE(metrics.microbatches, microbatches);
                }
                // One compute event per (stage, micro-batch), in order.
                int computeEvents = 0;
                for (const TimelineEvent &event : metrics.timeline) {
                    QVERIFY(event.endMs >= event.startMs);
                    computeEvents += event.kind == "compute";
                }
                QCOMPARE(computeEvents, stages * metrics.microbatches);
            }
        }
    }

    // Each stage runs on its own long-lived thread: the same one in every run
    // (oneDNN's OpenMP team and the thread's malloc arena outlive the run),
    // never the caller's, never another stage's.
    void stagesKeepTheirThreadsAcrossRuns()
    {
        Fixture fixture = loadFixture("gpt_tiny", m_devices);
        std::mt19937 random(7);
        auto runner = PipelineRunner::create(fixture.graph,
                                             randomSplit(*fixture.graph, 3, random, m_devices));
        QVERIFY2(runner.ok(), runner.ok() ? "" : runner.error().message.c_str());
        std::mutex mutex;
        std::vector<std::set<std::thread::id>> threadsOf(3);
        // Thread ids of exited threads are reused, so the ids alone would not
        // tell a thread per run from one thread: a thread-local count does
        // (a new thread starts at 0).
        std::vector<int> mostStartsSeen(3, 0);
        PipelineRunOptions options;
        options.microbatches = 2;
        options.onStageStart = [&](int stage, int) {
            thread_local int startsOnThisThread = 0;
            ++startsOnThisThread;
            std::lock_guard lock(mutex);
            threadsOf[static_cast<std::size_t>(stage)].insert(std::this_thread::get_id());
            int &most = mostStartsSeen[static_cast<std::size_t>(stage)];
            most = std::max(most, startsOnThisThread);
        };
        for (int run = 0; run < 3; ++run) {
            auto result = (*runner)->run(fixture.inputs, options);
            QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
            for (const auto &[name, expected] : fixture.reference)
                QVERIFY(relativeError(result->outputs.at(name), expected) <= 1e-5);
        }
        std::set<std::thread::id> all;
        for (const auto &threads : threadsOf) {
            QCOMPARE(threads.size(), std::size_t(1));
            QVERIFY(*threads.begin() != std::this_thread::get_id());
            all.insert(*threads.begin());
        }
        QCOMPARE(all.size(), std::size_t(3));
        QCOMPARE(mostStartsSeen, (std::vector<int>{6, 6, 6})); // 3 runs x 2 micro-batches
    }

    // PipelineRunOptions::onNode: every node a stage runs, once per
    // micro-batch, in the same order each time, on the stage's thread, and
    // the outputs as without it.
    void nodeHookProfilesEveryStageAndMicrobatch()
    {
        Fixture fixture = loadFixture("gpt_tiny", m_devices);
        std::mt19937 random(11);
        auto runner = PipelineRunner::create(fixture.graph,
                                             randomSplit(*fixture.graph, 3, random, m_devices));
        QVERIFY2(runner.ok(), runner.ok() ? "" : runner.error().message.c_str());
        constexpr int kMicrobatches = 2;
        std::mutex mutex;
        // [stage][micro-batch]: node names in the order the hook saw them.
        std::vector<std::vector<std::vector<std::string>>> seen(
            3, std::vector<std::vector<std::string>>(kMicrobatches));
        std::vector<std::set<std::thread::id>> threadsOf(3);
        bool ordered = true;
        PipelineRunOptions options;
        options.microbatches = kMicrobatches;
        options.onNode = [&](int stage, int microbatch, const NodeEvent &event) {
            std::lock_guard lock(mutex);
            seen.at(static_cast<std::size_t>(stage))
                .at(static_cast<std::size_t>(microbatch))
                .push_back(*event.name);
            threadsOf[static_cast<std::size_t>(stage)].insert(std::this_thread::get_id());
            ordered = ordered && event.endMs >= event.startMs && event.startMs >= 0;
        };
        auto result = (*runner)->run(fixture.inputs, options);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        QCOMPARE(result->metrics.microbatches, kMicrobatches);
        for (const auto &[name, expected] : fixture.reference)
            QVERIFY(relativeError(result->outputs.at(name), expected) <= 1e-5);
        QVERIFY(ordered);
        for (int s = 0; s < 3; ++s) {
            const auto &byMicrobatch = seen[static_cast<std::size_t>(s)];
            QVERIFY(!byMicrobatch[0].empty());
            QCOMPARE(byMicrobatch[1], byMicrobatch[0]);
            const std::set<std::string> distinct(byMicrobatch[0].begin(), byMicrobatch[0].end());
            QCOMPARE(distinct.size(), byMicrobatch[0].size()); // each node once per micro-batch
            QCOMPARE(threadsOf[static_cast<std::size_t>(s)].size(), std::size_t(1));
            QVERIFY(*threadsOf[static_cast<std::size_t>(s)].begin() != std::this_thread::get_id());
        }
    }

    void plannedRunMatchesSingleDevice_data()
    {
        QTest::addColumn<QString>("model");
        for (const char *model : {"resnet_tiny", "bert_tiny", "gpt_tiny"})
            QTest::newRow(model) << QString(model);
    }
    void plannedRunMatchesSingleDevice()
    {
        // Auto-plan over three CPU devices with a tight memory cap (forces a
        // 3-way split), then run through the plan -> stages glue.
        QFETCH(QString, model);
        Fixture fixture = loadFixture(model.toStdString(), m_devices);
        const std::uint64_t weights = fixture.graph->parameterBytes();
        plan::DeviceSet devices = threeCpuDevices(weights / 2 + (4u << 20));
        plan::PlannerOptions options;
        options.batch = 2;
        options.microbatches = 2;
        auto planned = plan::autoPlan(*fixture.graph, devices, options);
        QVERIFY2(planned.ok(), planned.ok() ? "" : planned.error().message.c_str());
        auto local = plan::createLocalDevices(devices.devices, kernels::defaultRegistry());
        QVERIFY(local.ok());
        auto stages = plan::pipelineStages(*fixture.graph, planned->plan, *local);
        QVERIFY2(stages.ok(), stages.ok() ? "" : stages.error().message.c_str());
        QVERIFY(stages->size() >= 2);
        auto runner = PipelineRunner::create(fixture.graph, *stages);
        QVERIFY(runner.ok());
        PipelineRunOptions runOptions;
        runOptions.microbatches = 2;
        auto result = (*runner)->run(fixture.inputs, runOptions);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        for (const auto &[name, expected] : fixture.reference)
            QVERIFY(relativeError(result->outputs.at(name), expected) <= 1e-5);
        // Trace files are valid JSON with an event per compute.
        QTemporaryDir dir;
        auto path = std::filesystem::path(dir.path().toStdString()) / "trace.json";
        QVERIFY(writeTrace(result->metrics, path).ok());
        std::ifstream trace(path);
        auto doc = nlohmann::json::parse(trace);
        QVERIFY(doc["traceEvents"].size() > result->metrics.stages.size());
        std::ifstream timeline(std::filesystem::path(dir.path().toStdString()) /
                               "trace.timeline.json");
        auto gui = nlohmann::json::parse(timeline);
        QCOMPARE(gui["stages"].size(), result->metrics.stages.size());
    }

    // tests/data/ops/op_chain.onnx chains the detection, quantization and
    // recurrent ops (Resize, MaxPool Indices, MaxUnpool, Quantize/
    // DequantizeLinear, LSTM, GRU, Einsum, TopK, NonMaxSuppression, RoiAlign).
    // Every single cut, a few 3-way splits and the auto-planner's split over
    // three devices reproduce the single-device run exactly.
    void newOpsSplitAcrossStages()
    {
        WholeRun whole;
        runWhole("ops/op_chain.onnx", "x", "ops/op_chain.in0.npy", whole);
        if (QTest::currentTestFailed())
            return;
        QCOMPARE(whole.outputs.at("top_values").shape(), (Shape{12, 1, 3}));
        QCOMPARE(whole.outputs.at("roi_features").shape(), (Shape{2, 4, 3, 3}));
        QCOMPARE(whole.outputs.at("lstm_h").shape(), (Shape{2, 1, 8}));
        const Tensor &selected = whole.outputs.at("selected");
        QVERIFY(selected.rank() == 2 && selected.dim(1) == 3 && selected.dim(0) >= 1 &&
                selected.dim(0) <= 4);
        auto check = [&](const TensorMap &outputs, const QString &what) {
            for (const auto &[name, expected] : whole.outputs)
                QVERIFY2(relativeError(outputs.at(name), expected) == 0.0,
                         qPrintable(what + " output " + QString::fromStdString(name)));
        };
        checkSplitsMatch(whole.graph, whole.inputs, whole.outputs, 20);
        if (QTest::currentTestFailed())
            return;
        // The planner prices the new ops and splits the graph when one device
        // cannot hold it.
        plan::DeviceSet devices = threeCpuDevices(whole.graph->parameterBytes() / 2 + 24 * 1024);
        plan::PlannerOptions options;
        options.batch = 1;
        auto planned = plan::autoPlan(*whole.graph, devices, options);
        QVERIFY2(planned.ok(), planned.ok() ? "" : planned.error().message.c_str());
        auto local = plan::createLocalDevices(devices.devices, kernels::defaultRegistry());
        QVERIFY(local.ok());
        auto stages = plan::pipelineStages(*whole.graph, planned->plan, *local);
        QVERIFY2(stages.ok(), stages.ok() ? "" : stages.error().message.c_str());
        QVERIFY(stages->size() >= 2);
        auto runner = PipelineRunner::create(whole.graph, *stages);
        QVERIFY(runner.ok());
        auto result = (*runner)->run(whole.inputs, {});
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        check(result->outputs, "auto plan");
    }

    // The int8 QDQ fixture (tests/data/users/resnet_tiny_int8.onnx): cut
    // anywhere, including between a QuantizeLinear and the DequantizeLinear
    // that reads it (int8 tensors cross stages, fusion happens per stage),
    // its logits stay within one quantization step of the single-device run.
    void int8SplitAcrossStages()
    {
        WholeRun whole;
        runWhole("users/resnet_tiny_int8.onnx", "input", "users/resnet_tiny_int8.in0.npy", whole);
        if (QTest::currentTestFailed())
            return;
        std::ifstream in(SB_TESTDATA_DIR "/users/manifest.json");
        const nlohmann::json users = nlohmann::json::parse(in);
        double step = 0;
        for (const auto &model : users["models"])
            if (model["name"] == "resnet_tiny_int8")
                step = model["outputs"][0]["quant_step"].get<double>();
        QVERIFY(step > 0);
        checkSplitsMatch(whole.graph, whole.inputs, whole.outputs, 30, 1.001 * step);
    }

    // tests/data/ops/control_flow.onnx: If, Loop (with a loop-carried
    // sequence and a nested If) and Scan, whose bodies read values produced
    // earlier in the graph. A node with subgraphs is placed as one unit: every
    // single cut and a few 3-way splits (sequences and outer-scope values
    // crossing stages) reproduce the single-device run exactly, and the
    // validator's ledger charges the bodies' memory to the node's device.
    void controlFlowSplitAcrossStages()
    {
        WholeRun whole;
        runWhole("ops/control_flow.onnx", "x", "ops/control_flow.in0.npy", whole);
        if (QTest::currentTestFailed())
            return;
        auto check = [&](const TensorMap &outputs, const QString &what) {
            for (const auto &[name, expected] : whole.outputs)
                QVERIFY2(compareTensors(outputs.at(name), expected, 0, 0).ok,
                         qPrintable(what + " output " + QString::fromStdString(name)));
        };
        int withSubgraphs = 0;
        for (const auto &node : whole.graph->nodes())
            withSubgraphs += plan::subgraphBytes(node) > 0 ? 1 : 0;
        QCOMPARE(withSubgraphs, 4); // two Ifs, the Loop, the Scan
        checkSplitsMatch(whole.graph, whole.inputs, whole.outputs, 21);
        if (QTest::currentTestFailed())
            return;
        // The auto-planner places each node with subgraphs as one unit; the
        // ledger of the device holding the Loop counts its body's memory.
        plan::DeviceSet devices = threeCpuDevices(std::uint64_t{1} << 30);
        plan::PlannerOptions options;
        options.batch = 1;
        auto planned = plan::autoPlan(*whole.graph, devices, options);
        QVERIFY2(planned.ok(), planned.ok() ? "" : planned.error().message.c_str());
        plan::ValidationReport report = plan::validatePlan(*whole.graph, planned->plan, {});
        QVERIFY(report.ok());
        QVERIFY(report.estimate.has_value());
        std::uint64_t loopBody = 0;
        for (const auto &node : whole.graph->nodes())
            if (node.opType == "Loop")
                loopBody = plan::subgraphBytes(node);
        QVERIFY(loopBody >= 3 * 4 * sizeof(float) * 4); // acc_in, th, scaled, acc_mid at least
        std::uint64_t workspace = 0;
        for (const auto &entry : report.estimate->ledger)
            workspace = std::max(workspace, entry.workspace);
        QVERIFY(workspace >= loopBody);
        auto local = plan::createLocalDevices(devices.devices, kernels::defaultRegistry());
        QVERIFY(local.ok());
        auto stages = plan::pipelineStages(*whole.graph, planned->plan, *local);
        QVERIFY2(stages.ok(), stages.ok() ? "" : stages.error().message.c_str());
        auto runner = PipelineRunner::create(whole.graph, *stages);
        QVERIFY(runner.ok());
        auto result = (*runner)->run(whole.inputs, {});
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        check(result->outputs, "auto plan");
    }

    void valueFeedsSeveralLaterStages()
    {
        // gpt_tiny split in three: the causal mask and the residual stream
        // produced early are read by both later stages; check the routing.
        Fixture fixture = loadFixture("gpt_tiny", m_devices);
        const auto nodes = static_cast<int>(fixture.graph->nodes().size());
        std::vector<PipelineStageSpec> specs(3);
        for (int s = 0; s < 3; ++s)
            specs[static_cast<std::size_t>(s)].device =
                m_devices[static_cast<std::size_t>(s)].get();
        for (int n = 0; n < nodes; ++n)
            specs[static_cast<std::size_t>(n * 3 / nodes)].nodes.push_back(n);
        auto runner = PipelineRunner::create(fixture.graph, specs);
        QVERIFY(runner.ok());
        auto consumers = (*runner)->stageConsumers();
        QVERIFY(std::find(consumers[0].begin(), consumers[0].end(), 2) != consumers[0].end());
        PipelineRunOptions options;
        options.microbatches = 2;
        auto result = (*runner)->run(fixture.inputs, options);
        QVERIFY(result.ok());
        for (const auto &[name, expected] : fixture.reference)
            QVERIFY(relativeError(result->outputs.at(name), expected) <= 1e-5);
        bool direct = false;
        for (const LinkMetrics &link : result->metrics.links)
            direct = direct || (link.fromStage == 0 && link.toStage == 2 && link.bytes > 0);
        QVERIFY(direct);
    }

    void cancelMidRunStopsCleanly()
    {
        Fixture fixture = loadFixture("gpt_tiny", m_devices);
        std::mt19937 random(3);
        auto runner = PipelineRunner::create(fixture.graph,
                                             randomSplit(*fixture.graph, 2, random, m_devices));
        QVERIFY(runner.ok());
        CancelToken cancel;
        PipelineRunOptions options;
        options.microbatches = 2;
        options.cancel = &cancel;
        options.onStageStart = [&](int stage, int microbatch) {
            if (stage == 1 && microbatch == 0)
                cancel.cancel();
        };
        const auto started = std::chrono::steady_clock::now();
        auto result = (*runner)->run(fixture.inputs, options);
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, ErrorCode::Cancelled);
        QVERIFY(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
        // The runner is reusable after a cancelled run.
        options.cancel = nullptr;
        options.onStageStart = nullptr;
        auto again = (*runner)->run(fixture.inputs, options);
        QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
    }

    void stageExceptionStopsEveryStage()
    {
        Fixture fixture = loadFixture("bert_tiny", m_devices);
        std::mt19937 random(5);
        auto runner = PipelineRunner::create(fixture.graph,
                                             randomSplit(*fixture.graph, 3, random, m_devices));
        QVERIFY(runner.ok());
        PipelineRunOptions options;
        options.microbatches = 2;
        options.onStageStart = [](int stage, int) {
            if (stage == 1)
                throw std::runtime_error("injected fault");
        };
        auto result = (*runner)->run(fixture.inputs, options);
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, ErrorCode::Runtime);
        QVERIFY(QString::fromStdString(result.error().message).contains("stage 1"));
        QVERIFY(QString::fromStdString(result.error().message).contains("injected fault"));
    }

    void stageErrorIsReported()
    {
        // A float tensor where the model wants int64 ids: stage 0 fails, the
        // later stages blocked on the transport are released.
        Fixture fixture = loadFixture("gpt_tiny", m_devices);
        std::mt19937 random(8);
        auto runner = PipelineRunner::create(fixture.graph,
                                             randomSplit(*fixture.graph, 3, random, m_devices));
        QVERIFY(runner.ok());
        TensorMap bad = fixture.inputs;
        for (auto &[name, tensor] : bad)
            tensor = Tensor::zeros(graph::ElementType::Float32, tensor.shape());
        auto result = (*runner)->run(bad, {});
        QVERIFY(!result.ok());
        QVERIFY(result.error().code != ErrorCode::Cancelled);
    }

    // ---- message frames

    static TransportMessage sampleMessage()
    {
        TransportMessage message;
        message.microbatch = 3;
        message.tensors["/blocks.0/Add_output_0"] =
            Tensor::fromVector<float>(graph::ElementType::Float32, {2, 3}, {1, 2, 3, 4, 5, 6});
        message.tensors["ids"] =
            Tensor::fromVector<std::int64_t>(graph::ElementType::Int64, {3}, {7, -8, 9});
        message.tensors["empty"] = Tensor::zeros(graph::ElementType::Float32, {0, 4});
        return message;
    }

    void frameRoundTrips()
    {
        TransportMessage message = sampleMessage();
        auto frame = encodeFrame(message);
        QVERIFY(frame.ok());
        auto back = decodeFrame(frame->data(), frame->size());
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->microbatch, 3);
        QCOMPARE(back->kind, TransportMessage::Kind::Data);
        QCOMPARE(back->tensors.size(), message.tensors.size());
        for (const auto &[name, tensor] : message.tensors) {
            const Tensor &got = back->tensors.at(name);
            QCOMPARE(got.type(), tensor.type());
            QVERIFY(got.shape() == tensor.shape());
            QVERIFY(std::memcmp(got.data(), tensor.data(), tensor.byteSize()) == 0);
        }
        TransportMessage metrics;
        metrics.kind = TransportMessage::Kind::Metrics;
        metrics.text = "{\"stage\":1}";
        auto metricsFrame = encodeFrame(metrics);
        QVERIFY(metricsFrame.ok());
        auto metricsBack = decodeFrame(metricsFrame->data(), metricsFrame->size());
        QVERIFY(metricsBack.ok());
        QCOMPARE(metricsBack->kind, TransportMessage::Kind::Metrics);
        QCOMPARE(metricsBack->text, metrics.text);
    }

    void ownedFramesDecodeToViews()
    {
        // A 64-byte aligned frame buffer (as the MPI transport receives
        // into): every tensor's data is aligned in it, so the tensors are
        // views of the buffer (no copy) and keep it alive.
        TransportMessage message = sampleMessage();
        auto frame = encodeFrame(message);
        QVERIFY(frame.ok());
        std::shared_ptr<std::uint8_t> buffer(
            static_cast<std::uint8_t *>(std::aligned_alloc(64, (frame->size() + 63) / 64 * 64)),
            [](std::uint8_t *bytes) { std::free(bytes); });
        std::memcpy(buffer.get(), frame->data(), frame->size());
        const std::uint8_t *first = buffer.get(), *end = first + frame->size();
        Tensor kept;
        {
            auto back = decodeFrame(buffer, frame->size());
            QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
            QCOMPARE(back->tensors.size(), message.tensors.size());
            for (const auto &[name, tensor] : message.tensors) {
                const Tensor &got = back->tensors.at(name);
                const auto *at = static_cast<const std::uint8_t *>(got.data());
                QVERIFY2(at >= first && at <= end, name.c_str()); // in the frame: a view
                QCOMPARE(reinterpret_cast<std::uintptr_t>(at) % kFrameDataAlignment,
                         std::uintptr_t(0));
                QCOMPARE(got.type(), tensor.type());
                QVERIFY(got.shape() == tensor.shape());
                QVERIFY(std::memcmp(got.data(), tensor.data(), tensor.byteSize()) == 0);
            }
            QVERIFY(buffer.use_count() > 1); // the tensors hold the frame
            kept = back->tensors.at("ids");
        }
        buffer.reset(); // the view alone keeps the frame
        QCOMPARE(static_cast<const std::int64_t *>(kept.data())[1], std::int64_t(-8));

        // The same frame one byte off alignment: copies, equal values.
        std::vector<std::uint8_t> shifted(frame->size() + 1);
        std::memcpy(shifted.data() + 1, frame->data(), frame->size());
        std::shared_ptr<std::uint8_t> offset(shifted.data() + 1, [](std::uint8_t *) {});
        auto copied = decodeFrame(offset, frame->size());
        QVERIFY(copied.ok());
        for (const auto &[name, tensor] : message.tensors) {
            const Tensor &got = copied->tensors.at(name);
            const auto *at = static_cast<const std::uint8_t *>(got.data());
            if (tensor.byteSize() > 0)
                QVERIFY2(at < shifted.data() || at > shifted.data() + shifted.size(), name.c_str());
            QVERIFY(std::memcmp(got.data(), tensor.data(), tensor.byteSize()) == 0);
        }
    }

    void framePaddingIsChecked()
    {
        // Tensor data starts at a multiple of 64 from the frame's start;
        // the bytes before it must be zero.
        TransportMessage message;
        message.tensors["x"] =
            Tensor::fromVector<float>(graph::ElementType::Float32, {2}, {1.5f, -2});
        auto frame = encodeFrame(message);
        QVERIFY(frame.ok());
        // header 24 + count 4 + name 2+1 + dtype, rank 2 + dims 8 + length 8 = 49: 15 zero bytes
        QCOMPARE(frame->size(), std::size_t(64 + 8));
        float values[2];
        std::memcpy(values, frame->data() + 64, sizeof values);
        QCOMPARE(values[0], 1.5f);
        QCOMPARE(values[1], -2.0f);
        std::vector<std::uint8_t> bytes = *frame;
        bytes[60] = 1;
        auto decoded = decodeFrame(bytes.data(), bytes.size());
        QVERIFY(!decoded.ok());
        QVERIFY2(QString::fromStdString(decoded.error().message).contains("padding"),
                 decoded.error().message.c_str());
    }

    void badFramesAreRefused_data()
    {
        QTest::addColumn<int>("offset"); // byte to corrupt (-1: none)
        QTest::addColumn<int>("value");
        QTest::addColumn<int>("keep"); // bytes kept (-1: all)
        QTest::addColumn<QString>("expected");
        QTest::newRow("magic") << 0 << int('X') << -1 << "magic";
        QTest::newRow("version") << 4 << 9 << -1 << "version 9";
        QTest::newRow("kind") << 6 << 7 << -1 << "kind 7";
        QTest::newRow("truncated header") << -1 << 0 << 10 << "truncated header";
        QTest::newRow("truncated body") << -1 << 0 << 40 << "arrived";
        QTest::newRow("length") << 8 << 0x7f << -1 << "bytes";
    }
    void badFramesAreRefused()
    {
        QFETCH(int, offset);
        QFETCH(int, value);
        QFETCH(int, keep);
        QFETCH(QString, expected);
        auto frame = encodeFrame(sampleMessage());
        QVERIFY(frame.ok());
        std::vector<std::uint8_t> bytes = *frame;
        if (offset >= 0)
            bytes[static_cast<std::size_t>(offset)] = static_cast<std::uint8_t>(value);
        if (keep >= 0)
            bytes.resize(static_cast<std::size_t>(keep));
        auto decoded = decodeFrame(bytes.data(), bytes.size());
        QVERIFY(!decoded.ok());
        QCOMPARE(decoded.error().code, ErrorCode::InvalidInput);
        const QString message = QString::fromStdString(decoded.error().message);
        QVERIFY2(message.startsWith("bad frame") && message.contains(expected),
                 qPrintable(message));
    }

    void corruptedFramesNeverCrash()
    {
        // Every truncation and a flipped byte at every offset: decode either
        // fails with a message or (for bytes inside tensor data) succeeds;
        // it never reads out of bounds (ASan/valgrind-clean by construction:
        // every read is checked against the bytes left).
        auto frame = encodeFrame(sampleMessage());
        QVERIFY(frame.ok());
        for (std::size_t keep = 0; keep < frame->size(); ++keep) {
            std::vector<std::uint8_t> cut(frame->begin(), frame->begin() + static_cast<long>(keep));
            auto decoded = decodeFrame(cut.data(), cut.size());
            QVERIFY(!decoded.ok());
        }
        int refused = 0;
        for (std::size_t at = 0; at < frame->size(); ++at) {
            std::vector<std::uint8_t> bytes = *frame;
            bytes[at] ^= 0xa5;
            auto decoded = decodeFrame(bytes.data(), bytes.size());
            if (!decoded.ok()) {
                ++refused;
                QVERIFY(!decoded.error().message.empty());
            }
        }
        QVERIFY(refused > 20);
        // A corrupted dtype names the tensor.
        std::vector<std::uint8_t> bytes = *frame;
        const std::string name = "/blocks.0/Add_output_0";
        auto at = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
        QVERIFY(at != bytes.end());
        *(at + static_cast<long>(name.size())) = 8; // string dtype
        auto decoded = decodeFrame(bytes.data(), bytes.size());
        QVERIFY(!decoded.ok());
        QVERIFY(QString::fromStdString(decoded.error().message)
                    .contains("'" + QString::fromStdString(name) + "'"));
    }

    void frameSizeLimit()
    {
        TransportMessage message = sampleMessage();
        auto frame = encodeFrame(message);
        QVERIFY(frame.ok());
        auto tooBig = encodeFrame(message, frame->size() - 1);
        QVERIFY(!tooBig.ok());
        QVERIFY(QString::fromStdString(tooBig.error().message).contains("frame limit"));
        auto refused = decodeFrame(frame->data(), frame->size(), frame->size() - 1);
        QVERIFY(!refused.ok());
        QVERIFY(QString::fromStdString(refused.error().message).contains("exceeds the limit"));
    }

    void splitFramesCarryDataSeparately()
    {
        // The MPI transport's form: a header naming every tensor, then each
        // tensor's data as its own message straight from the tensor.
        TransportMessage message = sampleMessage();
        auto split = encodeSplitFrame(message);
        QVERIFY(split.ok());
        auto whole = encodeFrame(message);
        QVERIFY(whole.ok());
        QVERIFY(split->header.size() < whole->size());
        QCOMPARE(split->header[7], kFrameSplitData);
        // Data pieces in frame (name) order, the tensors' own memory; the
        // empty tensor sends nothing.
        QCOMPARE(split->data.size(), std::size_t(2));
        QCOMPARE(split->data[0].bytes, message.tensors.at("/blocks.0/Add_output_0").data());
        QCOMPARE(split->data[0].size, std::size_t(24));
        QCOMPARE(split->data[1].bytes, message.tensors.at("ids").data());

        auto back = decodeSplitHeader(split->header.data(), split->header.size());
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->microbatch, 3);
        std::size_t piece = 0;
        for (auto &[name, tensor] : back->tensors) { // as the receiver fills them
            const Tensor &sent = message.tensors.at(name);
            QCOMPARE(tensor.type(), sent.type());
            QVERIFY(tensor.shape() == sent.shape());
            if (tensor.byteSize() == 0)
                continue;
            QCOMPARE(reinterpret_cast<std::uintptr_t>(tensor.data()) % kFrameDataAlignment,
                     std::uintptr_t(0));
            QCOMPARE(split->data[piece].size, static_cast<std::size_t>(tensor.byteSize()));
            std::memcpy(tensor.data(), split->data[piece++].bytes, tensor.byteSize());
        }
        QCOMPARE(piece, split->data.size());
        for (const auto &[name, tensor] : message.tensors)
            QVERIFY(std::memcmp(back->tensors.at(name).data(), tensor.data(), tensor.byteSize()) ==
                    0);

        // Each form is refused where the other is expected, by name.
        auto asWhole = decodeFrame(split->header.data(), split->header.size());
        QVERIFY(!asWhole.ok());
        QVERIFY2(QString::fromStdString(asWhole.error().message).contains("split header"),
                 asWhole.error().message.c_str());
        auto asSplit = decodeSplitHeader(whole->data(), whole->size());
        QVERIFY(!asSplit.ok());
        QVERIFY(QString::fromStdString(asSplit.error().message).contains("whole frame"));
        // The limit counts the data that follow the header.
        auto limited = decodeSplitHeader(split->header.data(), split->header.size(),
                                         split->header.size() + 24);
        QVERIFY(!limited.ok());
        QVERIFY2(QString::fromStdString(limited.error().message).contains("exceed the limit"),
                 limited.error().message.c_str());
        QVERIFY(!encodeSplitFrame(message, whole->size() - 1).ok());
        // Truncated split headers fail cleanly at every length.
        for (std::size_t keep = 0; keep < split->header.size(); ++keep)
            QVERIFY(!decodeSplitHeader(split->header.data(), keep).ok());
    }

    // ---- devices, buffers, factory

    void bufferTypeEnforcesCapacity()
    {
        CpuDevice device("cpu:7", 1, 1024, kernels::defaultRegistry());
        QCOMPARE(device.memoryCapacity(), std::uint64_t(1024));
        auto first = device.allocateTensor(graph::ElementType::Float32, {128}); // 512 bytes
        QVERIFY(first.ok());
        QCOMPARE(&first->bufferType(), &device.bufferType());
        QCOMPARE(first->deviceId(), std::string("cpu:7"));
        QVERIFY(first->isHost());
        QCOMPARE(device.bufferType().usedBytes(), std::uint64_t(512));
        auto second = device.allocateTensor(graph::ElementType::Float32, {200}); // 832 aligned
        QVERIFY(!second.ok());
        const QString message = QString::fromStdString(second.error().message);
        QVERIFY2(message.contains("cpu:7") && message.contains("832 bytes") &&
                     message.contains("1024 bytes"),
                 qPrintable(message));
        *first = Tensor();
        QCOMPARE(device.bufferType().usedBytes(), std::uint64_t(0));
        // An executor whose arena does not fit is refused at run time, naming the device.
        Fixture fixture = loadFixture("mlp", m_devices);
        CpuDevice tiny("cpu:8", 1, 32, kernels::defaultRegistry());
        auto executor = Executor::create(fixture.graph, tiny);
        QVERIFY(executor.ok());
        (void)(*executor)->run(fixture.inputs); // recording run (heap)
        auto planned = (*executor)->run(fixture.inputs);
        QVERIFY(!planned.ok());
        QVERIFY(QString::fromStdString(planned.error().message).contains("cpu:8"));
    }

    void deviceCopies()
    {
        CpuDevice a("cpu:0", 1, 0, kernels::defaultRegistry());
        CpuDevice b("cpu:1", 1, 0, kernels::defaultRegistry());
        Tensor host = Tensor::fromVector<float>(graph::ElementType::Float32, {3}, {1, 2, 3});
        auto onA = a.fromHost(host);
        QVERIFY(onA.ok());
        QCOMPARE(onA->deviceId(), std::string("cpu:0"));
        auto onB = b.allocateTensor(graph::ElementType::Float32, {3});
        QVERIFY(onB.ok());
        QVERIFY(a.copyToDevice(*onA, b, *onB).ok());
        QVERIFY(b.synchronize().ok());
        auto back = b.toHost(*onB);
        QVERIFY(back.ok());
        QCOMPARE(back->as<float>()[2], 3.0f);
        QCOMPARE(back->deviceId(), std::string("host"));
        QVERIFY(QString::fromStdString(a.context().describe()).contains("thread pool"));
    }

    void deviceFactoryByKind_data()
    {
        QTest::addColumn<QString>("id");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QString>("message");
        QTest::newRow("cpu") << "cpu:2" << true << "";
        // Without a GPU (or CUDA in the build) the error names the device.
        QTest::newRow("cuda") << "cuda:0" << !kernels::listGpus().empty() << "device cuda:0";
        QTest::newRow("remote") << "node2/cpu:0" << false << "--launcher mpi";
        QTest::newRow("unknown kind") << "tpu:0" << false << "unknown device kind 'tpu'";
        QTest::newRow("bad id") << "cpu" << false << "expected kind:index";
        QTest::newRow("bad index") << "cpu:x" << false << "not a number";
    }
    void deviceFactoryByKind()
    {
        QFETCH(QString, id);
        QFETCH(bool, ok);
        QFETCH(QString, message);
        DeviceConfig config;
        config.id = id.toStdString();
        config.threads = 1;
        auto device = DeviceFactory::instance().create(config, kernels::defaultRegistry());
        QCOMPARE(device.ok(), ok);
        if (ok) {
            QCOMPARE((*device)->id(), config.id);
            QCOMPARE((*device)->kind(), id.startsWith("cuda") ? DeviceKind::Cuda : DeviceKind::Cpu);
        } else {
            QVERIFY2(QString::fromStdString(device.error().message).contains(message),
                     device.error().message.c_str());
        }
        auto address = parseDeviceId("node2/cpu:1");
        QVERIFY(address.ok());
        QCOMPARE(address->host, std::string("node2"));
        QCOMPARE(address->localId(), std::string("cpu:1"));
    }

    void metricsTravelAsJson()
    {
        // What a worker reports and what rank 0 writes come back unchanged.
        Fixture fixture = loadFixture("gpt_tiny", m_devices);
        std::mt19937 random(11);
        auto runner = PipelineRunner::create(fixture.graph,
                                             randomSplit(*fixture.graph, 3, random, m_devices));
        QVERIFY(runner.ok());
        PipelineRunOptions options;
        options.microbatches = 2;
        auto result = (*runner)->run(fixture.inputs, options);
        QVERIFY(result.ok());
        const PipelineMetrics &metrics = result->metrics;
        QCOMPARE(metrics.stages.size(), std::size_t(3));
        QVERIFY(!metrics.stages[0].host.empty());
        auto back = pipelineMetricsFromJson(pipelineMetricsToJson(metrics));
        QVERIFY(back.ok());
        QCOMPARE(pipelineMetricsToJson(*back).dump(), pipelineMetricsToJson(metrics).dump());
        StageReport report;
        report.stage = 1;
        report.device = "node2/cpu:0";
        report.host = "node2";
        report.rank = 2;
        report.links.push_back({1, 2, "", "", 100, 2, 0.5});
        report.events.push_back({1, 0, "compute", 1.0, 2.0});
        auto parsed = stageReportFromJson(stageReportToJson(report).dump());
        QVERIFY(parsed.ok());
        QCOMPARE(stageReportToJson(*parsed).dump(), stageReportToJson(report).dump());
        QVERIFY(!stageReportFromJson("{\"stage\":1}").ok());
    }

    // A link with transfer buffers holds buffersPerLink x message bytes from
    // its first message on, whatever the timing: the 16-byte tensor takes
    // 64 bytes (aligned), three buffers 192. A buffer still viewed by a
    // received tensor is not reused; a message finding none free keeps its
    // own tensor and counts as queued.
    void transportTransferBuffers()
    {
        InProcessTransport transport;
        QVERIFY(transport.open(3, {{0, 1}, {1, 2}}).ok());
        transport.useTransferBuffers({{0, 1}}, 3);
        auto message = [](int mb, float value) {
            TransportMessage m;
            m.microbatch = mb;
            m.tensors["x"] =
                Tensor::fromVector(graph::ElementType::Float32, {4}, std::vector<float>(4, value));
            return m;
        };
        QVERIFY(transport.send(0, 1, message(0, 1.0f), nullptr).ok());
        QCOMPARE(transport.peakQueuedBytes(1), std::uint64_t(3 * 64));
        std::vector<Tensor> held;
        for (int mb = 0; mb < 3; ++mb) {
            auto received = transport.receive(0, 1, nullptr);
            QVERIFY(received.ok());
            QCOMPARE(received->microbatch, mb);
            const Tensor &x = received->tensors.at("x");
            QCOMPARE(x.as<float>()[3], float(mb + 1));
            QCOMPARE(reinterpret_cast<std::uintptr_t>(x.data()) % 64, std::uintptr_t(0));
            held.push_back(x);
            QVERIFY(transport.send(0, 1, message(mb + 1, float(mb + 2)), nullptr).ok());
        }
        // Three received tensors still view the three buffers: message 3
        // keeps its own 16 bytes.
        QCOMPARE(transport.peakQueuedBytes(1), std::uint64_t(3 * 64 + 16));
        auto overflow = transport.receive(0, 1, nullptr);
        QVERIFY(overflow.ok());
        QCOMPARE(overflow->tensors.at("x").as<float>()[0], 4.0f);
        // The receiver lets go: the buffers serve every later message, the
        // values intact, the peak unchanged.
        held.clear();
        for (int mb = 4; mb < 12; ++mb) {
            QVERIFY(transport.send(0, 1, message(mb, float(mb)), nullptr).ok());
            auto received = transport.receive(0, 1, nullptr);
            QVERIFY(received.ok());
            QCOMPARE(received->tensors.at("x").as<float>()[2], float(mb));
        }
        QCOMPARE(transport.peakQueuedBytes(1), std::uint64_t(3 * 64 + 16));
        // A link without buffers counts its queued messages, as before.
        QVERIFY(transport.send(1, 2, message(0, 1.0f), nullptr).ok());
        QCOMPARE(transport.peakQueuedBytes(2), std::uint64_t(16));
        QCOMPARE(transferBuffersPerLink(1), 1);
        QCOMPARE(transferBuffersPerLink(8), kPipelineQueueDepth + 1);
    }

    void transportBlocksAndShutsDown()
    {
        InProcessTransport transport;
        QVERIFY(transport.open(2, {{0, 1}}).ok());
        for (int mb = 0; mb < kPipelineQueueDepth; ++mb) {
            TransportMessage message;
            message.microbatch = mb;
            message.tensors["x"] = Tensor::zeros(graph::ElementType::Float32, {4});
            QVERIFY(transport.send(0, 1, std::move(message), nullptr).ok());
        }
        QCOMPARE(transport.peakQueuedBytes(1), std::uint64_t(16 * kPipelineQueueDepth));
        // A full link blocks the sender until cancelled.
        CancelToken cancel;
        std::thread canceller([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            cancel.cancel();
        });
        Status blocked = transport.send(0, 1, TransportMessage{}, &cancel);
        canceller.join();
        QCOMPARE(blocked.error().code, ErrorCode::Cancelled);
        auto first = transport.receive(0, 1, nullptr);
        QVERIFY(first.ok());
        QCOMPARE(first->microbatch, 0);
        // Shutdown wakes a blocked receiver on another link.
        QVERIFY(transport.open(2, {{0, 1}}).ok());
        std::thread stopper([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            transport.shutdown();
        });
        auto none = transport.receive(0, 1, nullptr);
        stopper.join();
        QVERIFY(!none.ok());
        QCOMPARE(none.error().code, ErrorCode::Cancelled);
        // Collectives after shutdown fail the same way (they use the links).
        Tensor t = Tensor::zeros(graph::ElementType::Float32, {2});
        QCOMPARE(transport.allReduceSum({0, 1}, 0, t, nullptr).error().code, ErrorCode::Cancelled);
    }
};

QTEST_GUILESS_MAIN(TestPipeline)
#include "test_pipeline.moc"
