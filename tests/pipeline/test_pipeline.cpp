// Pipelined runs reproduce single-device runs; cancel and stage failures stop
// cleanly; the transport's queues behave.
#include "core/graph/onnx_import.h"
#include "core/plan/local_run.h"
#include "core/plan/planner.h"
#include "core/runtime/executor.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/tensor_io.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <QtTest/QtTest>

#include <chrono>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

using namespace sb;
using namespace sb::runtime;

namespace {

struct Fixture
{
    std::shared_ptr<graph::Graph> graph;
    TensorMap inputs;
    TensorMap reference;  // single-device outputs
};

nlohmann::json manifest()
{
    std::ifstream in(SB_TESTDATA_DIR "/models/manifest.json");
    return nlohmann::json::parse(in);
}

Fixture loadFixture(const std::string &name, std::vector<std::unique_ptr<CpuDevice>> &devices)
{
    Fixture fixture;
    const nlohmann::json doc = manifest();  // keep alive across the loop
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
        maxAbs = std::max(maxAbs, std::abs(double(actual.as<float>()[i]) - expected.as<float>()[i]));
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

} // namespace

class TestPipeline : public QObject
{
    Q_OBJECT

    std::vector<std::unique_ptr<CpuDevice>> m_devices;

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
        plan::DeviceSet devices;
        const std::uint64_t weights = fixture.graph->parameterBytes();
        for (int i = 0; i < 3; ++i) {
            plan::DeviceSpec spec;
            spec.id = "cpu:" + std::to_string(i);
            spec.kind = "cpu";
            spec.threads = 1;
            spec.flops = 1e10;
            spec.memoryBandwidth = 1e10;
            spec.memoryBytes = weights / 2 + (4u << 20);
            devices.devices.push_back(spec);
        }
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

    void valueFeedsSeveralLaterStages()
    {
        // gpt_tiny split in three: the causal mask and the residual stream
        // produced early are read by both later stages; check the routing.
        Fixture fixture = loadFixture("gpt_tiny", m_devices);
        const auto nodes = static_cast<int>(fixture.graph->nodes().size());
        std::vector<PipelineStageSpec> specs(3);
        for (int s = 0; s < 3; ++s)
            specs[static_cast<std::size_t>(s)].device = m_devices[static_cast<std::size_t>(s)].get();
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
        Tensor t = Tensor::zeros(graph::ElementType::Float32, {2});
        QCOMPARE(transport.allReduceSum({0, 1}, 0, t, nullptr).error().code,
                 ErrorCode::Unsupported);
    }
};

QTEST_GUILESS_MAIN(TestPipeline)
#include "test_pipeline.moc"
