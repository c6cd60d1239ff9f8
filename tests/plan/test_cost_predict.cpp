// The cost model's predictors on tiny graphs against hand-computed values,
// and the pipeline schedule model against hand-computed schedules and against
// the runtime on synthetic stage times.
#include "test_graphs.h"

#include "core/plan/predict.h"
#include "core/runtime/device.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/schedule_model.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/registry.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

using namespace sb;
using namespace sb::plan;
using namespace sb::runtime;

namespace {

graph::Node makeNode(const std::string &op, const std::string &domain,
                     std::map<std::string, graph::Attribute> attributes = {})
{
    graph::Node node;
    node.name = op;
    node.opType = op;
    node.domain = domain;
    node.attributes = std::move(attributes);
    return node;
}

graph::Attribute ints(std::vector<std::int64_t> values)
{
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Ints;
    a.ints = std::move(values);
    return a;
}

KernelProfile profileOf(const graph::Node &node, const std::vector<Shape> &in,
                        const std::vector<Shape> &out)
{
    const KernelInfo *kernel =
        kernels::defaultRegistry().find(node.opType, node.domain, DeviceKind::Cpu);
    if (!kernel || !kernel->profile)
        return {};
    return kernel->profile(node, in, out, 1);
}

// x:[batch, 16] -> MatMul(W:[16, 32]) -> Softmax (not fusable: two nodes run).
std::shared_ptr<graph::Graph> matmulSoftmax()
{
    auto g = std::make_shared<graph::Graph>();
    g->opsets[""] = 17;
    auto value = [&](const std::string &name, std::vector<graph::Dim> dims) {
        graph::Value v;
        v.name = name;
        v.info.type = graph::ElementType::Float32;
        v.info.shape.rankKnown = true;
        v.info.shape.dims = std::move(dims);
        return g->addValue(v);
    };
    auto x = value("x", {graph::Dim::symbolic("batch"), graph::Dim::known(16)});
    auto w = value("w", {graph::Dim::known(16), graph::Dim::known(32)});
    g->mutableValues()[static_cast<std::size_t>(w)].initializer = graph::TensorData::fromBytes(
        graph::ElementType::Float32, {16, 32}, std::vector<std::uint8_t>(16 * 32 * 4, 0));
    auto h = value("h", {graph::Dim::symbolic("batch"), graph::Dim::known(32)});
    auto y = value("y", {graph::Dim::symbolic("batch"), graph::Dim::known(32)});
    g->mutableInputs() = {x};
    g->mutableOutputs() = {y};
    graph::Node mm = makeNode("MatMul", "");
    mm.inputs = {x, w};
    mm.outputs = {h};
    graph::Node sm = makeNode("Softmax", "");
    sm.inputs = {h};
    sm.outputs = {y};
    g->mutableNodes() = {mm, sm};
    g->rebuildIndex();
    return g;
}

// matmulSoftmax() on a 1-thread CPU device at batch 8: its executor and
// value shapes.
struct MatmulSoftmaxStage
{
    std::shared_ptr<graph::Graph> graph = matmulSoftmax();
    CpuDevice device{"cpu:0", 1, 0, kernels::defaultRegistry()};
    Result<std::unique_ptr<Executor>> executor = Executor::create(graph, device);
    Result<ValueShapes> shapes = [this] {
        cost::DimBindings bindings;
        bindings.batch = 8;
        return valueShapesByName(*graph, bindings);
    }();
};

// A residual chain of two blocks, one per stage, on two 1-thread CPU devices.
struct TwoStageChain
{
    std::shared_ptr<graph::Graph> graph = sbtest::makeResidualChain(2, 8, 1, 0);
    CpuDevice d0{"cpu:0", 1, 0, kernels::defaultRegistry()};
    CpuDevice d1{"cpu:1", 1, 0, kernels::defaultRegistry()};
    Result<std::unique_ptr<PipelineRunner>> runner = open();

    Result<std::unique_ptr<PipelineRunner>> open()
    {
        std::vector<PipelineStageSpec> specs(2);
        specs[0].device = &d0;
        specs[1].device = &d1;
        for (std::size_t n = 0; n < graph->nodes().size(); ++n)
            specs[graph->nodes()[n].block == 0 ? 0 : 1].nodes.push_back(
                static_cast<graph::NodeId>(n));
        return PipelineRunner::create(graph, specs);
    }
};

KernelRates handRates()
{
    KernelRates rates;
    rates.classes["gemm.small_m"][1] = {1e-6, 1e9};      // 1 us + FLOPs / 1 GFLOP/s
    rates.classes["mem.normalization"][1] = {2e-6, 1e9}; // 2 us + bytes / 1 GB/s
    rates.classes[kDefaultRateClass][1] = {0.5e-6, 4e9};
    rates.classes["mem.copy"][1] = {0.25e-6, 2e9}; // the executor's copy of its outputs
    rates.runOverheadSeconds[1] = 3e-6;
    return rates;
}

} // namespace

class TestCostPredict : public QObject
{
    Q_OBJECT

private slots:
    void kernelProfiles_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("expectedClass");
        QTest::addColumn<double>("expectedWork");
        QTest::addColumn<qulonglong>("expectedScratch");
        // MatMul [4,256]x[256,256]: 2*4*256*256 FLOPs, at most 16 rows.
        QTest::newRow("gemv") << "matmul_small"
                              << "gemm.small_m" << 2.0 * 4 * 256 * 256 << qulonglong(0);
        QTest::newRow("square") << "matmul_square"
                                << "gemm.square" << 2.0 * 128 * 64 * 96 << qulonglong(0);
        QTest::newRow("tall") << "matmul_tall"
                              << "gemm.tall" << 2.0 * 4096 * 32 * 64 << qulonglong(0);
        QTest::newRow("batched") << "matmul_batched"
                                 << "gemm.batched" << 2.0 * 8 * 16 * 32 * 16 << qulonglong(0);
        // Conv 3x3 stride 1, 64 -> 64 on 56x56: Winograd; 2*64*56*56*64*9 FLOPs.
        // Scratch on 1 thread: the transformed weights 16*64*64 floats, then
        // one block of the 784 tiles cut in 4 (196 tiles, runs of up to 28):
        // V and M 16*64*196 each, 4 input rows and 4 rows of B^T d of
        // 2*28+2 floats (232, padded to 240 each), 4 output rows of 28 (112).
        QTest::newRow("winograd")
            << "conv_3x3"
            << "conv.winograd" << 2.0 * 64 * 56 * 56 * 64 * 9
            << qulonglong((16ull * 64 * 64 + 2 * 16 * 64 * 196 + 240 + 240 + 112) * 4);
        // Stride 2: im2col; panels of 112 of the 784 output columns (7 even
        // panels of at most 64K floats of 576 rows), one per thread.
        QTest::newRow("im2col") << "conv_3x3_s2"
                                << "conv.im2col" << 2.0 * 64 * 28 * 28 * 64 * 9
                                << qulonglong(64ull * 9 * 112 * 4);
        // Padded 30x30 plane and the flat output run 28 rows x 30 (1740
        // floats, whole cache lines: 1744).
        QTest::newRow("depthwise")
            << "conv_dw"
            << "conv.depthwise" << 2.0 * 32 * 28 * 28 * 9 << qulonglong(1744ull * 4);
        QTest::newRow("pointwise") << "conv_1x1"
                                   << "conv.pointwise" << 2.0 * 32 * 28 * 28 * 16 << qulonglong(0);
        // Channels-last operands (a channels-last chain): the same path's
        // layout variant, a class of its own.
        QTest::newRow("pointwise nhwc")
            << "conv_1x1_nhwc"
            << "conv.pointwise.nhwc" << 2.0 * 32 * 28 * 28 * 16 << qulonglong(0);
        QTest::newRow("softmax") << "softmax"
                                 << "mem.normalization" << 2.0 * 64 * 128 * 4 << qulonglong(0);
        // 3x3 stride 2: on AVX-512 one row buffer (-inf, 56 columns as 64, 64
        // floats of -inf after them: 129, whole cache lines: 144), else the
        // plane split in 2 column phases of 28, 56 rows each.
        QTest::newRow("maxpool") << "maxpool"
                                 << "pool" << 64.0 * 28 * 28 * 9
                                 << qulonglong(kernels::cpuIsa() >= kernels::CpuIsa::Avx512
                                                   ? 144ull * 4
                                                   : 56ull * 2 * 28 * 4);
    }
    void kernelProfiles()
    {
        QFETCH(QString, op);
        QFETCH(QString, expectedClass);
        QFETCH(double, expectedWork);
        QFETCH(qulonglong, expectedScratch);
        KernelProfile profile;
        if (op == "matmul_small")
            profile = profileOf(makeNode("MatMul", ""), {{4, 256}, {256, 256}}, {{4, 256}});
        else if (op == "matmul_square")
            profile = profileOf(makeNode("MatMul", ""), {{2, 64, 64}, {64, 96}}, {{2, 64, 96}});
        else if (op == "matmul_tall")
            profile =
                profileOf(makeNode("FusedMatMul", "sb"), {{4096, 64}, {64, 32}}, {{4096, 32}});
        else if (op == "matmul_batched")
            profile = profileOf(makeNode("MatMul", ""), {{2, 4, 16, 16}, {2, 4, 16, 32}},
                                {{2, 4, 16, 32}});
        else if (op == "conv_3x3")
            profile = profileOf(makeNode("Conv", "", {{"pads", ints({1, 1, 1, 1})}}),
                                {{1, 64, 56, 56}, {64, 64, 3, 3}}, {{1, 64, 56, 56}});
        else if (op == "conv_3x3_s2")
            profile = profileOf(
                makeNode("Conv", "", {{"pads", ints({1, 1, 1, 1})}, {"strides", ints({2, 2})}}),
                {{1, 64, 56, 56}, {64, 64, 3, 3}}, {{1, 64, 28, 28}});
        else if (op == "conv_dw") {
            graph::Node node = makeNode("Conv", "", {{"pads", ints({1, 1, 1, 1})}});
            graph::Attribute group;
            group.kind = graph::Attribute::Kind::Int;
            group.i = 32;
            node.attributes["group"] = group;
            profile = profileOf(node, {{1, 32, 28, 28}, {32, 1, 3, 3}}, {{1, 32, 28, 28}});
        } else if (op == "conv_1x1")
            profile = profileOf(makeNode("Conv", ""), {{1, 16, 28, 28}, {32, 16, 1, 1}},
                                {{1, 32, 28, 28}});
        else if (op == "conv_1x1_nhwc") {
            graph::Attribute output;
            output.kind = graph::Attribute::Kind::Int;
            output.i = 1;
            profile = profileOf(
                makeNode("Conv", "",
                         {{"channels_last_inputs", ints({0})}, {"channels_last_output", output}}),
                {{1, 16, 28, 28}, {32, 16, 1, 1}}, {{1, 32, 28, 28}});
        } else if (op == "softmax")
            profile = profileOf(makeNode("Softmax", ""), {{64, 128}}, {{64, 128}});
        else if (op == "maxpool")
            profile =
                profileOf(makeNode("MaxPool", "",
                                   {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}}),
                          {{1, 64, 56, 56}}, {{1, 64, 28, 28}});
        QCOMPARE(QString::fromStdString(profile.rateClass), expectedClass);
        QCOMPARE(profile.work, expectedWork);
        QCOMPARE(qulonglong(profile.scratchBytes), expectedScratch);
    }

    // Node times, run overhead, learned factors and the allocator's peak on
    // a two-node graph, against values computed by hand.
    void stagePrediction()
    {
        MatmulSoftmaxStage fixture;
        const auto &executor = fixture.executor;
        const auto &shapes = fixture.shapes;
        QVERIFY(executor.ok());
        QVERIFY(shapes.ok());
        KernelRates rates = handRates();
        StagePrediction stage = predictStage(**executor, *shapes, rates, 1);
        QCOMPARE(stage.nodes.size(), std::size_t(2));
        QCOMPARE(stage.nodes[0].rateClass, std::string("gemm.small_m"));
        // MatMul: 1 us + 2*8*16*32 FLOPs / 1e9.
        QVERIFY(std::fabs(stage.nodes[0].seconds - (1e-6 + 8192e-9)) < 1e-12);
        // Softmax: 2 us + (8*32*4 in + 8*32*4 out) bytes / 1e9.
        QCOMPARE(stage.nodes[1].rateClass, std::string("mem.normalization"));
        QVERIFY(std::fabs(stage.nodes[1].seconds - (2e-6 + 2048e-9)) < 1e-12);
        // The 1024-byte output copied out of the arena: 0.25 us + 2 * 1024 bytes / 2 GB/s.
        QVERIFY(std::fabs(stage.outputCopySeconds - (0.25e-6 + 1024e-9)) < 1e-12);
        QVERIFY(std::fabs(stage.seconds -
                          (1e-6 + 8192e-9 + 2e-6 + 2048e-9 + 0.25e-6 + 1024e-9 + 3e-6)) < 1e-12);
        QVERIFY(stage.exact);
        // Both 1024-byte activations live while Softmax runs.
        QCOMPARE(stage.peakActivationBytes, std::uint64_t(2048));
        // The allocator measures the same peak.
        TensorMap inputs;
        inputs["x"] = Tensor::zeros(graph::ElementType::Float32, {8, 16});
        auto ran = (*executor)->run(inputs);
        QVERIFY(ran.ok());
        QCOMPARE(std::uint64_t(ran->stats.peakMemoryBytes), stage.peakActivationBytes);

        // A layout variant is priced with its path's rate.
        QCOMPARE(layoutVariantBase("conv.pointwise.nhwc"), std::string("conv.pointwise"));
        QCOMPARE(layoutVariantBase("conv.pointwise"), std::string());
        QCOMPARE(layoutVariantBase(".nhwc"), std::string());

        // A learned factor scales its class and says so.
        rates.learned["mem.normalization"] = 2.0;
        StagePrediction learned = predictStage(**executor, *shapes, rates, 1);
        QVERIFY(std::fabs(learned.nodes[1].seconds - 2 * (2e-6 + 2048e-9)) < 1e-12);
        QVERIFY(learned.nodes[1].rateSource.find("learned") != std::string::npos);
        // A factor for this thread count wins over the class's.
        rates.learned["mem.normalization@1"] = 3.0;
        StagePrediction perThreads = predictStage(**executor, *shapes, rates, 1);
        QVERIFY(std::fabs(perThreads.nodes[1].seconds - 3 * (2e-6 + 2048e-9)) < 1e-12);
        // A factor for this size of work wins over the thread count's:
        // buckets of a factor of 4 (2048 bytes: floor(log4(2048)) = 5).
        QCOMPARE(learnedSizeKey("mem.normalization", 1, 2048),
                 std::string("mem.normalization@1/w5"));
        QCOMPARE(learnedSizeKey("conv.winograd", 2, 4095), std::string("conv.winograd@2/w5"));
        QCOMPARE(learnedSizeKey("conv.winograd", 2, 4096), std::string("conv.winograd@2/w6"));
        QCOMPARE(learnedSizeKey("mem.copy", 1, 0), std::string("mem.copy@1/w0"));
        rates.learned["mem.normalization@1/w5"] = 4.0;
        StagePrediction perSize = predictStage(**executor, *shapes, rates, 1);
        QVERIFY(std::fabs(perSize.nodes[1].seconds - 4 * (2e-6 + 2048e-9)) < 1e-12);
        // Another size's factor leaves it at the thread count's.
        rates.learned.erase("mem.normalization@1/w5");
        rates.learned["mem.normalization@1/w6"] = 4.0;
        StagePrediction otherSize = predictStage(**executor, *shapes, rates, 1);
        QVERIFY(std::fabs(otherSize.nodes[1].seconds - 3 * (2e-6 + 2048e-9)) < 1e-12);
        rates.learned.erase("mem.normalization@1/w6");
        rates.learned.erase("mem.normalization@1");
        // Classes without a rate fall back to the default class's.
        rates.classes.erase("gemm.small_m");
        StagePrediction fallback = predictStage(**executor, *shapes, rates, 1);
        QVERIFY(std::fabs(fallback.nodes[0].seconds - (0.5e-6 + 8192 / 4e9)) < 1e-12);
        QVERIFY(fallback.nodes[0].rateSource.find("no gemm.small_m") != std::string::npos);
        // The executor's per-node overhead goes on every node, after the
        // class's (learned) time: 0.7 us each here.
        rates.nodeOverheadSeconds[1] = 0.7e-6;
        StagePrediction dispatched = predictStage(**executor, *shapes, rates, 1);
        QVERIFY(std::fabs(dispatched.nodes[0].seconds - (0.5e-6 + 8192 / 4e9 + 0.7e-6)) < 1e-12);
        QVERIFY(std::fabs(dispatched.nodes[1].seconds - (2 * (2e-6 + 2048e-9) + 0.7e-6)) < 1e-12);
        QVERIFY(std::fabs(dispatched.seconds -
                          (dispatched.nodes[0].seconds + dispatched.nodes[1].seconds +
                           dispatched.outputCopySeconds + 3e-6)) < 1e-12);

        // Contention: with every one of 3 cores busy the MatMul runs at 0.5
        // of its speed, Softmax at 0.8, the output copy and the run overhead
        // at their mean 0.65; the slowdown spread over the 2 other cores.
        KernelRates coRun = handRates();
        QCOMPARE(stage.contention, 0.0); // not measured: none
        coRun.coRunSpeed = {{"gemm.small_m", 0.5}, {"mem.normalization", 0.8}};
        coRun.coRunCores = 3;
        StagePrediction contended = predictStage(**executor, *shapes, coRun, 1);
        const double matmul = 1e-6 + 8192e-9, softmax = 2e-6 + 2048e-9, copy = 0.25e-6 + 1024e-9;
        const double alone = matmul + softmax + copy + 3e-6;
        const double busy = matmul / 0.5 + softmax / 0.8 + (copy + 3e-6) / 0.65;
        QVERIFY(std::fabs(contended.contention - (busy / alone - 1) / 2) < 1e-9);
        QVERIFY(std::fabs(contended.seconds - alone) < 1e-12); // alone: unchanged
    }

    // Weights beyond the cache: the MatMul's 2048-byte weight priced by the
    // stage's set (the same 2048 bytes) between calibrated points, by hand.
    void weightStreamPrediction()
    {
        MatmulSoftmaxStage fixture;
        const auto &graph = fixture.graph;
        const auto &executor = fixture.executor;
        const auto &shapes = fixture.shapes;
        QVERIFY(executor.ok());
        QVERIFY(shapes.ok());
        KernelRates rates = handRates();
        // Piecewise linear in log2(bytes): 0 below the first point, the
        // last's above the last.
        rates.weightStream = {{1024, 0}, {4096, 2e-9}, {16384, 3e-9}};
        QCOMPARE(rates.weightStreamSecondsPerByte(512), 0.0);
        QCOMPARE(rates.weightStreamSecondsPerByte(1024), 0.0);
        QVERIFY(std::fabs(rates.weightStreamSecondsPerByte(2048) - 1e-9) < 1e-21);
        QVERIFY(std::fabs(rates.weightStreamSecondsPerByte(8192) - 2.5e-9) < 1e-21);
        QCOMPARE(rates.weightStreamSecondsPerByte(1 << 20), 3e-9);
        QCOMPARE(KernelRates().weightStreamSecondsPerByte(1 << 20), 0.0);

        const double matmul = 1e-6 + 8192e-9, softmax = 2e-6 + 2048e-9;
        StagePrediction stage = predictStage(**executor, *shapes, rates, 1);
        QCOMPARE(stage.weightSetBytes, std::uint64_t(2048));
        QCOMPARE(stage.nodes[0].weightBytes, std::uint64_t(2048));
        QVERIFY(std::fabs(stage.nodes[0].streamSeconds - 2048 * 1e-9) < 1e-15);
        QVERIFY(std::fabs(stage.nodes[0].seconds - (matmul + 2048 * 1e-9)) < 1e-12);
        QVERIFY(stage.nodes[0].rateSource.find("MiB of weights") != std::string::npos);
        // Softmax reads no weights.
        QCOMPARE(stage.nodes[1].weightBytes, std::uint64_t(0));
        QVERIFY(std::fabs(stage.nodes[1].seconds - softmax) < 1e-12);
        // A learned factor scales the class's time, not the weights'.
        rates.learned["gemm.small_m"] = 2.0;
        StagePrediction learned = predictStage(**executor, *shapes, rates, 1);
        QVERIFY(std::fabs(learned.nodes[0].seconds - (2 * matmul + 2048 * 1e-9)) < 1e-12);
        rates.learned.clear();
        // Stages taking turns on the cores: the set counts cacheShare times.
        QCOMPARE(cacheShareOf(2, 2), 1.0);
        QCOMPARE(cacheShareOf(1, 2), 1.0);
        QCOMPARE(cacheShareOf(3, 2), 1.5);
        StagePrediction shared = predictStage(**executor, *shapes, rates, 1, 2.0);
        QVERIFY(std::fabs(shared.nodes[0].streamSeconds - 2048 * 2e-9) < 1e-15);
        // Beside a stage on the other core that streams 2048 bytes too, its
        // weights are priced for a set of 4096 while both compute: 2048 x
        // (2e-9 - 1e-9) s more, all of the contention (co-run speeds of 1).
        KernelRates coRun = rates;
        coRun.coRunSpeed = {{"gemm.small_m", 1.0}, {"mem.normalization", 1.0}};
        coRun.coRunCores = 2;
        StagePrediction alone = predictStage(**executor, *shapes, coRun, 1);
        QCOMPARE(alone.contention, 0.0);
        StagePrediction beside = predictStage(**executor, *shapes, coRun, 1, 1.0, 2048);
        QVERIFY(std::fabs(beside.seconds - alone.seconds) < 1e-15); // alone: unchanged
        QVERIFY(std::fabs(beside.contention - 2048 * 1e-9 / beside.seconds) < 1e-9);

        // The planner's view: the nodes in cache, their weights apart, and
        // the per-byte cost of a stage's set (times the cache share).
        PlannerOptions options;
        options.batch = 8;
        QVERIFY(usePredictedCosts(options, graph, kernels::defaultRegistry(), rates, 1, 2.0).ok());
        QCOMPARE(options.nodeSeconds.size(), graph->nodes().size());
        QVERIFY(std::fabs(options.nodeSeconds[0] - matmul) < 1e-12);
        QVERIFY(std::fabs(options.nodeSeconds[1] - softmax) < 1e-12);
        QCOMPARE(options.nodeWeightBytes, (std::vector<double>{2048, 0}));
        QVERIFY(options.streamSecondsPerByte);
        QVERIFY(std::fabs(options.streamSecondsPerByte(2048) - 2e-9) < 1e-21);
        QVERIFY(std::fabs(options.streamSecondsPerByte(1024) - 1e-9) < 1e-21);
    }

    // calibration.json keeps the kernel rates, both overheads and the
    // learned factors.
    void calibrationRoundTrips()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        Calibration calibration;
        calibration.host = "test";
        calibration.hardwareThreads = 2;
        calibration.gemmFlopsByThreads[1] = 1e10;
        calibration.cpuKernels = handRates();
        calibration.cpuKernels.nodeOverheadSeconds[1] = 0.7e-6;
        calibration.cpuKernels.nodeOverheadSeconds[2] = 1.5e-6;
        calibration.cpuKernels.learned["gemm.small_m"] = 1.25;
        calibration.cpuKernels.scheduleFactorFits = 1.07;
        calibration.cpuKernels.scheduleFactorOversubscribed = 1.2;
        calibration.cpuKernels.pipelineOverhead[1] = {0.2, 0};
        calibration.cpuKernels.pipelineOverhead[3] = {0.15, 0.1};
        calibration.cpuKernels.coRunSpeed = {{"gemm.square", 0.55}, {"mem.copy", 0.9}};
        calibration.cpuKernels.coRunCores = 2;
        calibration.cpuKernels.weightStream = {{1u << 20, 0}, {8u << 20, 1.5e-11}};
        const std::filesystem::path file = dir.filePath("calibration.json").toStdString();
        QVERIFY(saveCalibration(calibration, file).ok());
        auto loaded = loadCalibration(file);
        QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().message.c_str());
        const KernelRates &rates = loaded->cpuKernels;
        QCOMPARE(rates.classes.size(), calibration.cpuKernels.classes.size());
        QCOMPARE(rates.find("gemm.small_m", 1)->unitsPerSecond, 1e9);
        QCOMPARE(rates.runOverhead(1), 3e-6);
        QCOMPARE(rates.nodeOverhead(1), 0.7e-6);
        QCOMPARE(rates.nodeOverhead(3), 1.5e-6); // the closest thread count measured
        QCOMPARE(rates.learned.at("gemm.small_m"), 1.25);
        QCOMPARE(rates.scheduleFactorFits, 1.07);
        QCOMPARE(rates.scheduleFactorOversubscribed, 1.2);
        QCOMPARE(rates.pipelineOverhead.size(), std::size_t(2));
        QCOMPARE(rates.pipelineOverheadFor(1).runMs, 0.2);
        QCOMPARE(rates.pipelineOverheadFor(3).handoffMs, 0.1);
        QCOMPARE(rates.pipelineOverheadFor(4).runMs, 0.15); // the closest stage count
        QCOMPARE(KernelRates().pipelineOverheadFor(2).runMs, 0.0);
        QCOMPARE(rates.coRunSpeed, calibration.cpuKernels.coRunSpeed);
        QCOMPARE(rates.coRunCores, 2);
        QCOMPARE(rates.weightStream.size(), std::size_t(2));
        QCOMPARE(rates.weightStream[1].weightSetBytes, std::uint64_t(8u << 20));
        QCOMPARE(rates.weightStream[1].secondsPerByte, 1.5e-11);

        // A hand-edited file: figures that are not numbers count as 0, no throw.
        std::ifstream in(file);
        nlohmann::json doc = nlohmann::json::parse(in);
        in.close();
        doc["cpu_kernel_rates"]["pipeline_overhead"]["2"] = {{"run_ms", "fast"},
                                                             {"handoff_ms", -1}};
        // Weight-stream points out of order, cheaper than the one before or
        // not numbers are dropped.
        doc["cpu_kernel_rates"]["weight_stream"] =
            nlohmann::json::array({{{"weight_set_bytes", 1048576}, {"seconds_per_byte", 1e-11}},
                                   {{"weight_set_bytes", 524288}, {"seconds_per_byte", 2e-11}},
                                   {{"weight_set_bytes", 2097152}, {"seconds_per_byte", 0.5e-11}},
                                   {{"weight_set_bytes", "big"}, {"seconds_per_byte", 3e-11}},
                                   {{"weight_set_bytes", 4194304}, {"seconds_per_byte", 3e-11}}});
        std::ofstream(file) << doc.dump();
        auto edited = loadCalibration(file);
        QVERIFY(edited.ok());
        QCOMPARE(edited->cpuKernels.pipelineOverheadFor(2).runMs, 0.0);
        QCOMPARE(edited->cpuKernels.pipelineOverheadFor(2).handoffMs, 0.0);
        QCOMPARE(edited->cpuKernels.weightStream.size(), std::size_t(2));
        QCOMPARE(edited->cpuKernels.weightStream[0].weightSetBytes, std::uint64_t(1048576));
        QCOMPARE(edited->cpuKernels.weightStream[1].weightSetBytes, std::uint64_t(4194304));
    }

    // Two 10 ms stages, 2 micro-batches of 1 sample: wall 30 ms, latencies
    // 20 ms, stage compute 20 ms each. Stretched 1.5x: wall 45, latencies 30,
    // compute unchanged, bubble (90 - 40) / 90, 2 samples in 45 ms.
    void stretchScheduleByHand()
    {
        std::vector<ScheduleStage> stages(2);
        stages[0].computeMs = 10;
        stages[0].sendBytes[1] = 0;
        stages[1].computeMs = 10;
        ScheduleOptions options;
        options.microbatches = 2;
        options.batch = 2;
        SchedulePrediction p = simulateSchedule(stages, options);
        QCOMPARE(p.wallMs, 30.0);
        stretchSchedule(p, 1.5, options);
        QCOMPARE(p.wallMs, 45.0);
        QCOMPARE(p.microbatchLatencyMs, (std::vector<double>{30.0, 30.0}));
        QCOMPARE(p.stageComputeMs, (std::vector<double>{20.0, 20.0}));
        QCOMPARE(p.stageIdleMs, (std::vector<double>{25.0, 25.0}));
        QVERIFY(std::fabs(p.bubbleFraction - 50.0 / 90.0) < 1e-12);
        QVERIFY(std::fabs(p.summary.throughput - 2 / 0.045) < 1e-9);
        QCOMPARE(p.computeSpans.back().endMs, 45.0);
        // Not measured (0) or 1: unchanged.
        stretchSchedule(p, 0, options);
        QCOMPARE(p.wallMs, 45.0);
    }

    // The schedule probe on the real runner: one stage spinning 1.5 ms of
    // CPU per micro-batch can only take longer than the model's 8 x 1.5 ms
    // (the runner's start and hand-offs come on top); a probe whose batch
    // did not split into 8 micro-batches would measure an eighth of it.
    void scheduleProbeRunsTheRunner()
    {
        auto factor = measureScheduleFactor(kernels::defaultRegistry(), 1, 1);
        QVERIFY2(factor.ok(), factor.ok() ? "" : factor.error().message.c_str());
        QVERIFY2(*factor >= 0.98 && *factor <= 2.0, qPrintable(QString::number(*factor)));
        CancelToken cancel;
        cancel.cancel();
        QVERIFY(!measureScheduleFactor(kernels::defaultRegistry(), 2, 2, &cancel).ok());
    }

    // The probe runs the real runner: one stage has no hand-off; three have
    // two, each a thread waking (more than nothing, well under a second).
    void pipelineOverheadProbeRunsTheRunner()
    {
        auto one = measurePipelineOverhead(kernels::defaultRegistry(), 1);
        QVERIFY2(one.ok(), one.ok() ? "" : one.error().message.c_str());
        QCOMPARE(one->handoffMs, 0.0);
        QVERIFY(one->runMs > 0 && one->runMs < 1000);
        auto three = measurePipelineOverhead(kernels::defaultRegistry(), 3);
        QVERIFY2(three.ok(), three.ok() ? "" : three.error().message.c_str());
        QVERIFY(three->handoffMs > 0 && three->handoffMs < 1000);
        QVERIFY(three->runMs >= 0 && three->runMs < 1000);
        CancelToken cancel;
        cancel.cancel();
        QVERIFY(!measurePipelineOverhead(kernels::defaultRegistry(), 2, &cancel).ok());
    }

    // predictPipeline adds the measured overhead of its stage count to runs
    // of one micro-batch: the run's start and end to the iteration, each
    // hand-off to the micro-batch's path; runs of more are left to the
    // schedule factor.
    void pipelineOverheadInPrediction()
    {
        TwoStageChain chain;
        const auto &graph = chain.graph;
        auto &runner = chain.runner;
        QVERIFY(runner.ok());
        PipelinePredictOptions options;
        options.batch = 4;
        options.microbatches = 1;
        KernelRates rates = handRates();
        auto plain = predictPipeline(*graph, **runner, rates, options);
        rates.pipelineOverhead[2] = {0.5, 0.25};
        auto withOverhead = predictPipeline(*graph, **runner, rates, options);
        QVERIFY(plain.ok() && withOverhead.ok());
        const double eps = 1e-9;
        QVERIFY(std::fabs(withOverhead->schedule.wallMs - (plain->schedule.wallMs + 0.25)) < eps);
        QVERIFY(std::fabs(withOverhead->schedule.microbatchLatencyMs[0] -
                          (plain->schedule.microbatchLatencyMs[0] + 0.25)) < eps);
        QVERIFY(std::fabs(withOverhead->schedule.summary.iterationMedianMs -
                          (plain->schedule.summary.iterationMedianMs + 0.75)) < eps);
        QCOMPARE(withOverhead->schedule.stageComputeMs, plain->schedule.stageComputeMs);
        options.microbatches = 2;
        rates.scheduleFactorFits = 0; // no stretch, to compare the models alone
        auto two = predictPipeline(*graph, **runner, rates, options);
        rates.pipelineOverhead.clear();
        auto twoPlain = predictPipeline(*graph, **runner, rates, options);
        QVERIFY(two.ok() && twoPlain.ok());
        QCOMPARE(two->schedule.wallMs, twoPlain->schedule.wallMs);
    }

    // predictPipeline gives each stage the other stage's weight set as the
    // one its weights share the caches with while both compute: alone each
    // set is cheap, together it is not, and only the contention says so.
    void coRunningWeightSetsInPipelinePrediction()
    {
        TwoStageChain chain;
        const auto &graph = chain.graph;
        auto &runner = chain.runner;
        QVERIFY(runner.ok());
        PipelinePredictOptions options;
        options.batch = 4;
        options.microbatches = 1;
        options.cores = 2;
        KernelRates rates = handRates();
        auto plain = predictPipeline(*graph, **runner, rates, options);
        QVERIFY(plain.ok());
        const std::uint64_t set0 = plain->stages[0].weightSetBytes,
                            set1 = plain->stages[1].weightSetBytes;
        QVERIFY(set0 > 0 && set1 > 0);
        rates.weightStream = {{std::max(set0, set1), 0}, {4 * std::max(set0, set1), 3e-9}};
        for (const auto &stage : plain->stages)
            for (const auto &node : stage.nodes)
                rates.coRunSpeed[node.rateClass] = 1.0;
        rates.coRunSpeed["mem.copy"] = 1.0;
        rates.coRunCores = 2;
        auto predicted = predictPipeline(*graph, **runner, rates, options);
        QVERIFY(predicted.ok());
        const double perByte = rates.weightStreamSecondsPerByte(set0 + set1);
        QVERIFY(perByte > 0);
        for (std::size_t s = 0; s < 2; ++s) {
            const StagePrediction &stage = predicted->stages[s];
            QCOMPARE(stage.seconds, plain->stages[s].seconds); // alone: in cache
            double bytes = 0;
            for (const auto &node : stage.nodes)
                bytes += static_cast<double>(node.weightBytes);
            QCOMPARE(bytes, static_cast<double>(s == 0 ? set0 : set1));
            QVERIFY(std::fabs(stage.contention - bytes * perByte / stage.seconds) < 1e-9);
        }
    }

    void learning()
    {
        KernelRates rates;
        RunEvidence run;
        run.predictedMs = 100;
        run.measuredMs = 150;
        run.predictedByClass = {{"gemm.square", 80}, {"mem.elementwise", 20}};
        auto changes = learnFromRuns(rates, {run});
        QCOMPARE(changes.size(), std::size_t(2));
        QVERIFY(std::fabs(rates.learned["gemm.square"] - 1.5) < 1e-12);
        // Bounded.
        run.measuredMs = 1000;
        learnFromRuns(rates, {run});
        QCOMPARE(rates.learned["gemm.square"], kLearnedFactorMax);
    }

    // Two stages of 10 and 20 ms, 4 micro-batches: computed by hand.
    void scheduleByHand()
    {
        std::vector<ScheduleStage> stages(2);
        stages[0].computeMs = 10;
        stages[0].sendBytes[1] = 1000;
        stages[0].sendMs[1] = 0;
        stages[1].computeMs = 20;
        ScheduleOptions options;
        options.microbatches = 4;
        options.batch = 8;
        SchedulePrediction p = simulateSchedule(stages, options);
        QVERIFY(!p.deadlocked);
        QCOMPARE(p.wallMs, 90.0); // fill 10 + 4 x 20
        QCOMPARE(p.stageComputeMs[0], 40.0);
        QCOMPARE(p.stageComputeMs[1], 80.0);
        // mb k starts at 10k on stage 0 and ends at 30 + 20k on stage 1.
        QCOMPARE(p.microbatchLatencyMs, (std::vector<double>{30, 40, 50, 60}));
        QVERIFY(std::fabs(p.bubbleFraction - 60.0 / 180.0) < 1e-12);
        QVERIFY(std::fabs(p.summary.throughput - 8 / 0.090) < 1e-9);
        // At most 2 messages wait (mb 2 and 3 at t = 40).
        QCOMPARE(p.peakQueuedBytes[1], std::uint64_t(2000));

        // Queue depth 1: stage 0 blocks until stage 1 takes the message.
        options.queueDepth = 1;
        SchedulePrediction blocked = simulateSchedule(stages, options);
        QCOMPARE(blocked.wallMs, 90.0);
        QCOMPARE(blocked.peakQueuedBytes[1], std::uint64_t(1000));
        // mb 3: stage 0 computes it at 30..40 but can hand it over only at
        // 50 (stage 1 takes mb 2 then); stage 1 runs it 70..90.
        QCOMPARE(blocked.microbatchLatencyMs.back(), 60.0);

        // Two 1-thread stages of 10 ms on 1 core, 2 micro-batches: stage 0
        // alone (0..10), both at half speed (10..30), stage 1 alone (30..40).
        options.queueDepth = 2;
        options.microbatches = 2;
        options.cores = 1;
        stages[1].computeMs = 10;
        SchedulePrediction shared = simulateSchedule(stages, options);
        QCOMPARE(shared.wallMs, 40.0);
        QCOMPARE(shared.stageComputeMs[0], 30.0); // compute time stretches, as measured
        options.cores = 2;
        QCOMPARE(simulateSchedule(stages, options).wallMs, 30.0);

        // A transfer keeps the sender busy and delays the receiver.
        options.microbatches = 1;
        options.cores = 0;
        stages[0].sendMs[1] = 5;
        SchedulePrediction transfer = simulateSchedule(stages, options);
        QCOMPARE(transfer.wallMs, 25.0);
    }

    // Time-sliced cores (ScheduleOptions::timeSliceMs), every span by hand.
    void timeSlicedScheduleByHand()
    {
        // Three driver-fed 1-thread stages of 1 ms, one micro-batch, 2 cores.
        std::vector<ScheduleStage> stages(3);
        for (ScheduleStage &stage : stages)
            stage.computeMs = 1;
        ScheduleOptions options;
        options.cores = 2;
        options.batch = 1;
        // Processor sharing: all three at 2/3 speed, 1.5 ms each.
        SchedulePrediction shared = simulateSchedule(stages, options);
        QCOMPARE(shared.wallMs, 1.5);
        QCOMPARE(shared.stageComputeMs, (std::vector<double>{1.5, 1.5, 1.5}));
        // Slices of 0.5: stages 0 and 1 run 0..0.5 (stage 2 waits, idle);
        // 2 and 0 run 0.5..1 (0 is done); 1 and 2 run 1..1.5.
        options.timeSliceMs = 0.5;
        SchedulePrediction sliced = simulateSchedule(stages, options);
        QVERIFY(!sliced.deadlocked);
        QCOMPARE(sliced.wallMs, 1.5);
        QCOMPARE(sliced.stageComputeMs, (std::vector<double>{1.0, 1.5, 1.0}));
        QCOMPARE(sliced.microbatchLatencyMs, (std::vector<double>{1.5}));
        // Slices longer than the compute: 0 and 1 run through, 2 waits for a
        // core until 1 and then runs through unshared.
        options.timeSliceMs = 2;
        SchedulePrediction through = simulateSchedule(stages, options);
        QCOMPARE(through.wallMs, 2.0);
        QCOMPARE(through.stageComputeMs, (std::vector<double>{1.0, 1.0, 1.0}));
        QCOMPARE(through.stageIdleMs, (std::vector<double>{1.0, 1.0, 1.0}));
        // Long stages: the slice widens to keep the replay within its event
        // budget; three 100 s stages, 8 micro-batches, keep both cores busy.
        {
            std::vector<ScheduleStage> longStages(3);
            for (ScheduleStage &stage : longStages)
                stage.computeMs = 1e5;
            ScheduleOptions longOptions = options;
            longOptions.microbatches = 8;
            longOptions.timeSliceMs = 0.75;
            SchedulePrediction p = simulateSchedule(longStages, longOptions);
            QVERIFY(!p.deadlocked);
            QVERIFY2(std::fabs(p.wallMs - 1.2e6) <= 1.2e3, qPrintable(QString::number(p.wallMs)));
        }
        // A stage of 2 threads: processor sharing (4 busy threads, half speed).
        stages[0].threads = 2;
        SchedulePrediction gang = simulateSchedule(stages, options);
        options.timeSliceMs = 0;
        QCOMPARE(gang.wallMs, 2.0);
        QCOMPARE(gang.stageComputeMs, simulateSchedule(stages, options).stageComputeMs);

        // A chain of two 1 ms stages on 1 core, 2 micro-batches, slices of
        // 0.5. At 1 stage 0 hands mb 0 over and queues mb 1 behind stage 1:
        // stage 1 runs mb 0 1..1.5, stage 0 mb 1 1.5..2 (its compute starts
        // there), stage 1 2..2.5 (mb 0 done), stage 0 2.5..3 (mb 1 handed
        // over), stage 1 mb 1 3..4 alone.
        std::vector<ScheduleStage> chain(2);
        chain[0].computeMs = 1;
        chain[0].sendBytes[1] = 100;
        chain[1].computeMs = 1;
        ScheduleOptions chainOptions;
        chainOptions.cores = 1;
        chainOptions.microbatches = 2;
        chainOptions.timeSliceMs = 0.5;
        SchedulePrediction p = simulateSchedule(chain, chainOptions);
        QVERIFY(!p.deadlocked);
        QCOMPARE(p.wallMs, 4.0);
        QCOMPARE(p.stageComputeMs, (std::vector<double>{2.5, 2.5}));
        // mb 0: 0..2.5; mb 1: from stage 0's start at 1.5 to 4.
        QCOMPARE(p.microbatchLatencyMs, (std::vector<double>{2.5, 2.5}));
        QCOMPARE(p.computeSpans.size(), std::size_t(4));
        QCOMPARE(p.computeSpans[1].stage, 1);
        QCOMPARE(p.computeSpans[1].startMs, 1.0);
        QCOMPARE(p.computeSpans[1].endMs, 2.5);
        QCOMPARE(p.computeSpans[2].stage, 0);
        QCOMPARE(p.computeSpans[2].startMs, 1.5);
        QCOMPARE(p.computeSpans[2].endMs, 3.0);
        // Processor sharing: stage 1 mb 0 and stage 0 mb 1 both at half
        // speed 1..3, then stage 1 mb 1 alone: 3 ms of compute each.
        chainOptions.timeSliceMs = 0;
        QCOMPARE(simulateSchedule(chain, chainOptions).stageComputeMs,
                 (std::vector<double>{3.0, 3.0}));

        // Wake-up preemption, 1 core, slices of 10 ms: stage 0 (1 ms) runs
        // 0..1 and sends to stage 2 over a 0.5 ms transfer; stage 1 (5 ms,
        // driver-fed) gets the core at 1. Stage 2's input arrives at 1.5: it
        // takes the core from stage 1 and runs 1.5..2.5; stage 1, displaced
        // mid-run, goes on 2.5..7 (compute 1..7: 6 ms).
        std::vector<ScheduleStage> woken(3);
        woken[0].computeMs = 1;
        woken[0].sendBytes[2] = 100;
        woken[0].sendMs[2] = 0.5;
        woken[1].computeMs = 5;
        woken[2].computeMs = 1;
        ScheduleOptions wokenOptions;
        wokenOptions.cores = 1;
        wokenOptions.timeSliceMs = 10;
        SchedulePrediction w = simulateSchedule(woken, wokenOptions);
        QVERIFY(!w.deadlocked);
        QCOMPARE(w.wallMs, 7.0);
        QCOMPARE(w.stageComputeMs, (std::vector<double>{1.0, 6.0, 1.0}));
        QCOMPARE(w.computeSpans.size(), std::size_t(3));
        QCOMPARE(w.computeSpans[1].stage, 1);
        QCOMPARE(w.computeSpans[1].startMs, 1.0);
        QCOMPARE(w.computeSpans[1].endMs, 7.0);
        QCOMPARE(w.computeSpans[2].stage, 2);
        QCOMPARE(w.computeSpans[2].startMs, 1.5);
        QCOMPARE(w.computeSpans[2].endMs, 2.5);
    }

    // The runner's core gate (ScheduleOptions::coreSlots) and contention,
    // every span by hand.
    void gatedScheduleByHand()
    {
        // Three driver-fed 1-thread stages of 1 ms, one micro-batch, 2 slots:
        // 0 and 1 compute 0..1, 2 waits (idle, not computing) and runs 1..2.
        std::vector<ScheduleStage> stages(3);
        for (ScheduleStage &stage : stages)
            stage.computeMs = 1;
        ScheduleOptions options;
        options.cores = 2;
        options.coreSlots = 2;
        options.batch = 1;
        options.timeSliceMs = 0.5; // the gate overrides it
        SchedulePrediction gated = simulateSchedule(stages, options);
        QVERIFY(!gated.deadlocked);
        QCOMPARE(gated.wallMs, 2.0);
        QCOMPARE(gated.stageComputeMs, (std::vector<double>{1.0, 1.0, 1.0}));
        QCOMPARE(gated.stageIdleMs, (std::vector<double>{1.0, 1.0, 1.0}));
        QCOMPARE(gated.microbatchLatencyMs, (std::vector<double>{2.0}));
        QCOMPARE(gated.computeSpans.back().stage, 2);
        QCOMPARE(gated.computeSpans.back().startMs, 1.0);

        // A stage of 2 threads takes both slots: stage 1 waits for it.
        std::vector<ScheduleStage> wide(2);
        wide[0].computeMs = 1;
        wide[0].threads = 2;
        wide[1].computeMs = 1;
        SchedulePrediction w = simulateSchedule(wide, options);
        QCOMPARE(w.wallMs, 2.0);
        QCOMPARE(w.stageComputeMs, (std::vector<double>{1.0, 1.0}));

        // A chain of two 1 ms stages through 1 slot, 2 micro-batches. At 1
        // stage 0 hands mb 0 over and, its next input already there, asks
        // first: mb 1 on stage 0 1..2, then stage 1 mb 0 2..3 and mb 1 3..4.
        std::vector<ScheduleStage> chain(2);
        chain[0].computeMs = 1;
        chain[0].sendBytes[1] = 100;
        chain[1].computeMs = 1;
        ScheduleOptions chainOptions;
        chainOptions.cores = 1;
        chainOptions.coreSlots = 1;
        chainOptions.microbatches = 2;
        SchedulePrediction p = simulateSchedule(chain, chainOptions);
        QVERIFY(!p.deadlocked);
        QCOMPARE(p.wallMs, 4.0);
        QCOMPARE(p.stageComputeMs, (std::vector<double>{2.0, 2.0}));
        struct Span
        {
            int stage, microbatch;
            double start, end;
        };
        const Span expected[] = {{0, 0, 0, 1}, {0, 1, 1, 2}, {1, 0, 2, 3}, {1, 1, 3, 4}};
        QCOMPARE(p.computeSpans.size(), std::size_t(4));
        for (std::size_t i = 0; i < 4; ++i) {
            QCOMPARE(p.computeSpans[i].stage, expected[i].stage);
            QCOMPARE(p.computeSpans[i].microbatch, expected[i].microbatch);
            QCOMPARE(p.computeSpans[i].startMs, expected[i].start);
            QCOMPARE(p.computeSpans[i].endMs, expected[i].end);
        }
        // mb 0: stage 1 waits for it from 0, done at 3; mb 1: 1..4.
        QCOMPARE(p.microbatchLatencyMs, (std::vector<double>{3.0, 3.0}));

        // Contention 0.25 per other busy core: two driver-fed 1 ms stages
        // on 2 cores each run at 1 / 1.25, 1.25 ms; a 2-thread stage alone
        // keeps its speed (its rate was measured on both cores).
        std::vector<ScheduleStage> pair(2);
        for (ScheduleStage &stage : pair) {
            stage.computeMs = 1;
            stage.contention = 0.25;
        }
        ScheduleOptions pairOptions;
        pairOptions.cores = 2;
        SchedulePrediction contended = simulateSchedule(pair, pairOptions);
        QCOMPARE(contended.wallMs, 1.25);
        QCOMPARE(contended.stageComputeMs, (std::vector<double>{1.25, 1.25}));
        std::vector<ScheduleStage> single(1);
        single[0].computeMs = 1;
        single[0].threads = 2;
        single[0].contention = 0.25;
        QCOMPARE(simulateSchedule(single, pairOptions).wallMs, 1.0);
    }

    // ScheduleOptions::wokenWaitForComputeEnd, by hand: 2 slots, 3 stages.
    void gatedWokenStageWaitsForAComputeToEnd()
    {
        // Stage 0 (1 ms) feeds stage 1 (1 ms); stage 2 (3 ms) is driver-fed.
        // 0 and 2 compute from 0. At 1 stage 1's input arrives while stage 2
        // computes: it asks the gate when stage 2 ends, at 3, and runs 3..4.
        std::vector<ScheduleStage> stages(3);
        stages[0].computeMs = 1;
        stages[0].sendBytes[1] = 64;
        stages[1].computeMs = 1;
        stages[2].computeMs = 3;
        ScheduleOptions options;
        options.cores = 2;
        options.coreSlots = 2;
        options.batch = 1;
        const SchedulePrediction waits = simulateSchedule(stages, options);
        QVERIFY(!waits.deadlocked);
        QCOMPARE(waits.wallMs, 4.0);
        QCOMPARE(waits.stageComputeMs, (std::vector<double>{1.0, 1.0, 3.0}));
        QCOMPARE(waits.stageIdleMs, (std::vector<double>{3.0, 3.0, 1.0}));
        QCOMPARE(waits.microbatchLatencyMs, (std::vector<double>{4.0}));
        const ScheduleSpan &woken = waits.computeSpans.back();
        QCOMPARE(woken.stage, 1);
        QCOMPARE(woken.startMs, 3.0);
        // Asking at once, it takes stage 0's slot at 1 and runs 1..2.
        options.wokenWaitForComputeEnd = false;
        const SchedulePrediction atOnce = simulateSchedule(stages, options);
        QCOMPARE(atOnce.wallMs, 3.0);
        QCOMPARE(atOnce.computeSpans[2].stage, 1);
        QCOMPARE(atOnce.computeSpans[2].startMs, 1.0);

        // Woken with nothing else computing, a stage asks at once: a chain of
        // three 1 ms stages runs 0..3.
        std::vector<ScheduleStage> chain(3);
        for (int s = 0; s < 3; ++s) {
            chain[static_cast<std::size_t>(s)].computeMs = 1;
            if (s < 2)
                chain[static_cast<std::size_t>(s)].sendBytes[s + 1] = 64;
        }
        options.wokenWaitForComputeEnd = true;
        QCOMPARE(simulateSchedule(chain, options).wallMs, 3.0);

        // The same chain at 2 micro-batches, every span by hand. At 1 stage 0
        // sends mb 0 and goes on to mb 1 (its input is in); stage 1, woken
        // with nothing computing, asks after it and gets the second slot:
        // both run 1..2. At 2 stage 1 sends mb 0 to stage 2 while stage 0
        // ends too, nothing else computes: stage 1 waits for mb 1 (already
        // sent, so it goes on at once) and stage 2 is woken: 2..3 both.
        // Stage 2's mb 1 arrives at 3, nothing else computing: 3..4.
        options.microbatches = 2;
        const SchedulePrediction two = simulateSchedule(chain, options);
        QVERIFY(!two.deadlocked);
        struct Span
        {
            int stage, microbatch;
            double start, end;
        };
        const Span expected[] = {{0, 0, 0, 1}, {0, 1, 1, 2}, {1, 0, 1, 2},
                                 {1, 1, 2, 3}, {2, 0, 2, 3}, {2, 1, 3, 4}};
        QCOMPARE(two.computeSpans.size(), std::size_t(6));
        for (std::size_t i = 0; i < 6; ++i) {
            const QString where = QStringLiteral("span %1").arg(i);
            QVERIFY2(two.computeSpans[i].stage == expected[i].stage, qPrintable(where));
            QVERIFY2(two.computeSpans[i].microbatch == expected[i].microbatch, qPrintable(where));
            QVERIFY2(two.computeSpans[i].startMs == expected[i].start, qPrintable(where));
            QVERIFY2(two.computeSpans[i].endMs == expected[i].end, qPrintable(where));
        }
    }

    // The what-if chain (the Runs page draws it before a run): 3 stages of
    // 1, 3 and 2 ms per micro-batch, 3 micro-batches, every span by hand.
    void chainScheduleByHand()
    {
        const SchedulePrediction p = simulateChain({1, 3, 2}, 3, 6);
        QVERIFY(!p.deadlocked);
        struct Expected
        {
            int stage, microbatch;
            double start, end;
        };
        // Stage 0 back to back; stage 1 (the bottleneck) paces stage 2.
        const std::vector<Expected> expected = {{0, 0, 0, 1},  {0, 1, 1, 2}, {1, 0, 1, 4},
                                                {0, 2, 2, 3},  {1, 1, 4, 7}, {2, 0, 4, 6},
                                                {1, 2, 7, 10}, {2, 1, 7, 9}, {2, 2, 10, 12}};
        QCOMPARE(p.computeSpans.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const ScheduleSpan &span = p.computeSpans[i];
            const QString where = QStringLiteral("span %1").arg(i);
            QVERIFY2(span.stage == expected[i].stage, qPrintable(where));
            QVERIFY2(span.microbatch == expected[i].microbatch, qPrintable(where));
            QVERIFY2(span.startMs == expected[i].start, qPrintable(where));
            QVERIFY2(span.endMs == expected[i].end, qPrintable(where));
        }
        // The plan estimate's latency: sum + (M - 1) x max = 6 + 2 x 3.
        QCOMPARE(p.wallMs, 12.0);
        QCOMPARE(p.stageComputeMs, (std::vector<double>{3, 9, 6}));
        // Idle 9 + 3 + 6 of 3 x 12.
        QVERIFY(std::fabs(p.bubbleFraction - 18.0 / 36.0) < 1e-12);
        QCOMPARE(p.microbatchLatencyMs, (std::vector<double>{6, 8, 10}));
        // One stage: no bubble; no stages: nothing.
        QCOMPARE(simulateChain({4}, 2, 2).bubbleFraction, 0.0);
        QVERIFY(simulateChain({}, 2, 2).computeSpans.empty());
    }

    // The schedule model against the runtime: stages whose compute is a
    // sleep (synthetic stage times, unaffected by CPU load), several
    // micro-batches; wall time, per-stage compute and micro-batch latencies.
    void scheduleAgainstRuntime_data()
    {
        QTest::addColumn<double>("firstMs");
        QTest::addColumn<double>("secondMs");
        QTest::addColumn<int>("microbatches");
        QTest::newRow("balanced") << 40.0 << 40.0 << 4;
        QTest::newRow("slow second") << 20.0 << 60.0 << 4;
        QTest::newRow("slow first") << 60.0 << 20.0 << 4;
        QTest::newRow("one micro-batch") << 30.0 << 50.0 << 1;
    }
    void scheduleAgainstRuntime()
    {
        QFETCH(double, firstMs);
        QFETCH(double, secondMs);
        QFETCH(int, microbatches);
        TwoStageChain chain;
        const auto &graph = chain.graph;
        auto &runner = chain.runner;
        QVERIFY(runner.ok());
        const double sleeps[2] = {firstMs, secondMs};
        PipelineRunOptions options;
        options.microbatches = microbatches;
        options.onStageStart = [&](int stage, int) {
            std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(sleeps[stage]));
        };
        TensorMap inputs;
        inputs["x"] = Tensor::zeros(graph::ElementType::Float32, {4, 8});
        QVERIFY((*runner)->run(inputs, options).ok()); // warm-up
        auto ran = (*runner)->run(inputs, options);
        QVERIFY(ran.ok());
        const PipelineMetrics &m = ran->metrics;

        // The stage times the runtime really took (a sleep overshoots by the
        // scheduler's wake-up delay on a loaded machine) drive the model: the
        // test is about the schedule (fill, drain, queueing, latencies).
        std::vector<ScheduleStage> stages(2);
        stages[0].computeMs = m.stages[0].computeMs / microbatches;
        stages[1].computeMs = m.stages[1].computeMs / microbatches;
        QVERIFY(stages[0].computeMs >= firstMs && stages[1].computeMs >= secondMs);
        for (const auto &[to, names] : (*runner)->routing().stages[0].toStage)
            stages[0].sendBytes[to] = 128;
        ScheduleOptions scheduleOptions;
        scheduleOptions.microbatches = microbatches;
        SchedulePrediction p = simulateSchedule(stages, scheduleOptions);
        // Hand-overs wait for a thread to wake: allow 10% + 3 ms per micro-batch.
        auto near = [&](double predicted, double measured) {
            return std::fabs(predicted - measured) <= 0.10 * predicted + 3.0 * microbatches;
        };
        QVERIFY2(near(p.wallMs, m.wallMs),
                 qPrintable(QString("wall predicted %1 measured %2").arg(p.wallMs).arg(m.wallMs)));
        // Without the model's fill and drain the wall would be off by a stage time.
        const double slowest = std::max(stages[0].computeMs, stages[1].computeMs);
        QVERIFY(std::fabs(slowest * microbatches - m.wallMs) > std::fabs(p.wallMs - m.wallMs));
        QCOMPARE(p.microbatchLatencyMs.size(), m.microbatchLatencyMs.size());
        for (std::size_t mb = 0; mb < m.microbatchLatencyMs.size(); ++mb)
            QVERIFY2(near(p.microbatchLatencyMs[mb], m.microbatchLatencyMs[mb]),
                     qPrintable(QString("latency %1 predicted %2 measured %3")
                                    .arg(mb)
                                    .arg(p.microbatchLatencyMs[mb])
                                    .arg(m.microbatchLatencyMs[mb])));
        QVERIFY(std::fabs(p.bubbleFraction - m.bubbleFraction) < 0.1);

        // Peak memory per stage, exactly: activations plus the inbound link's
        // transfer buffers, however the queue filled (the slow-second rows
        // let it fill, the others do not).
        PipelinePredictOptions predictOptions;
        predictOptions.batch = 4;
        predictOptions.microbatches = microbatches;
        auto predicted = predictPipeline(*graph, **runner, handRates(), predictOptions);
        QVERIFY(predicted.ok());
        for (std::size_t s = 0; s < 2; ++s)
            QCOMPARE(predicted->stagePeakMemoryBytes[s], m.stages[s].peakMemoryBytes);
        QVERIFY(predicted->stagePeakMemoryBytes[1] > predicted->stages[1].peakActivationBytes);
    }

    // The core gate against the runtime: a 3-stage chain sharing 1 core
    // (PipelineRunner::create's coreCount) computes one stage at a time,
    // and the gated model replays that schedule; without the gate the model
    // would let the stages overlap.
    void gatedScheduleAgainstRuntime()
    {
        std::shared_ptr<graph::Graph> graph = sbtest::makeResidualChain(3, 8, 0, 0);
        CpuDevice d0{"cpu:0", 1, 0, kernels::defaultRegistry()};
        CpuDevice d1{"cpu:1", 1, 0, kernels::defaultRegistry()};
        CpuDevice d2{"cpu:2", 1, 0, kernels::defaultRegistry()};
        std::vector<PipelineStageSpec> specs(3);
        specs[0].device = &d0;
        specs[1].device = &d1;
        specs[2].device = &d2;
        for (std::size_t n = 0; n < graph->nodes().size(); ++n)
            specs[static_cast<std::size_t>(graph->nodes()[n].block)].nodes.push_back(
                static_cast<graph::NodeId>(n));
        auto runner =
            PipelineRunner::create(graph, specs, {}, std::make_shared<InProcessTransport>(), 1);
        QVERIFY2(runner.ok(), runner.ok() ? "" : runner.error().message.c_str());
        QCOMPARE((*runner)->coreSlots(), 1);
        constexpr int kMicrobatches = 6;
        const double sleeps[3] = {3, 5, 3};
        PipelineRunOptions options;
        options.microbatches = kMicrobatches;
        options.onStageStart = [&](int stage, int) {
            std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(sleeps[stage]));
        };
        TensorMap inputs;
        inputs["x"] = Tensor::zeros(graph::ElementType::Float32, {6, 8});
        QVERIFY((*runner)->run(inputs, options).ok()); // warm-up
        auto ran = (*runner)->run(inputs, options);
        QVERIFY(ran.ok());
        const PipelineMetrics &m = ran->metrics;
        QCOMPARE(m.microbatches, kMicrobatches);

        // One compute at a time.
        std::vector<std::pair<double, double>> computes;
        for (const TimelineEvent &event : m.timeline)
            if (event.kind == "compute")
                computes.emplace_back(event.startMs, event.endMs);
        QCOMPARE(computes.size(), std::size_t(3 * kMicrobatches));
        std::sort(computes.begin(), computes.end());
        for (std::size_t i = 1; i < computes.size(); ++i)
            QVERIFY2(computes[i].first >= computes[i - 1].second - 1e-6,
                     qPrintable(QString("computes overlap at %1 ms").arg(computes[i].first)));

        std::vector<ScheduleStage> stages(3);
        for (std::size_t s = 0; s < 3; ++s) {
            stages[s].computeMs = m.stages[s].computeMs / kMicrobatches;
            QVERIFY(stages[s].computeMs >= sleeps[s]);
        }
        stages[0].sendBytes[1] = 128;
        stages[1].sendBytes[2] = 128;
        ScheduleOptions scheduleOptions;
        scheduleOptions.microbatches = kMicrobatches;
        scheduleOptions.cores = 1;
        scheduleOptions.coreSlots = 1;
        const SchedulePrediction gated = simulateSchedule(stages, scheduleOptions);
        scheduleOptions.coreSlots = 0;
        scheduleOptions.cores = 0;
        const SchedulePrediction overlapping = simulateSchedule(stages, scheduleOptions);
        // Gated, the wall is the stages' work one after another (66 ms and
        // more); overlapping, about 36.
        QVERIFY2(
            std::fabs(gated.wallMs - m.wallMs) <= 0.10 * gated.wallMs + 2.0 * kMicrobatches,
            qPrintable(QString("wall predicted %1 measured %2").arg(gated.wallMs).arg(m.wallMs)));
        QVERIFY(std::fabs(gated.wallMs - m.wallMs) < std::fabs(overlapping.wallMs - m.wallMs));
    }
};

QTEST_GUILESS_MAIN(TestCostPredict)
#include "test_cost_predict.moc"
