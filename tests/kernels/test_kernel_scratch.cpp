// Kernel scratch is real and measured: the fast kernels that need scratch
// (im2col panels and matrices, Winograd tiles, depthwise padded planes,
// MaxPool phase splits, the fused pointwise + depthwise kernel's expanded
// blocks) take it through KernelContext::allocateScratch, so
//  - no kernel allocates large buffers on the heap behind the executor's
//    back while a run is in progress (this binary counts operator new:
//    thread_local or per-call std::vector scratch shows up here),
//  - the executor's measured peak equals the cost model's ledger
//    (plan::predictStage: activations plus each kernel's declared scratch,
//    KernelProfile::scratchBytes) byte for byte, so a kernel whose scratch
//    is taken but not declared, or declared but not taken, fails,
//  - the results still match the reference kernels, on 1 and 3 threads
//    (per-thread slices of one buffer).
#include "kernel_test_util.h"

#include "core/plan/predict.h"
#include "kernels/cpu/onednn/onednn.h"

#include <QtTest>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_largeHeapBytes{0};
// Executor bookkeeping (small vectors, maps, names) stays below this.
constexpr std::size_t kLargeAllocation = 4096;

} // namespace

// Counts the bytes of large heap allocations made while g_counting is set.
void *operator new(std::size_t bytes)
{
    if (bytes >= kLargeAllocation && g_counting.load(std::memory_order_relaxed))
        g_largeHeapBytes.fetch_add(bytes, std::memory_order_relaxed);
    if (void *p = std::malloc(bytes == 0 ? 1 : bytes))
        return p;
    throw std::bad_alloc();
}
void operator delete(void *p) noexcept
{
    std::free(p);
}
void operator delete(void *p, std::size_t) noexcept
{
    std::free(p);
}

using namespace sb;
using namespace sb::kernel_tests;

namespace {

struct Case
{
    std::string op, domain = "";
    std::vector<Tensor> inputs;
    std::map<std::string, graph::Attribute> attributes;
};

Case conv(Shape x, Shape w, std::map<std::string, graph::Attribute> attributes, bool bias = true)
{
    Case c{"Conv", "", {randomTensor(x, 1), randomTensor(w, 2)}, std::move(attributes)};
    if (bias)
        c.inputs.push_back(randomTensor({w[0]}, 3));
    return c;
}

Case caseNamed(const QString &name)
{
    const auto pads1 = ints({1, 1, 1, 1});
    if (name == "im2col panels")
        return conv({1, 16, 30, 30}, {32, 16, 3, 3}, {{"pads", pads1}, {"strides", ints({2, 2})}});
    if (name == "im2col whole matrix")
        return conv({1, 16, 12, 12}, {32, 16, 3, 3}, {{"pads", pads1}});
    if (name == "im2col grouped")
        return conv({1, 8, 10, 10}, {8, 4, 3, 3}, {{"pads", pads1}, {"group", integer(2)}});
    if (name == "images side by side")
        return conv({4, 16, 7, 7}, {24, 16, 1, 1}, {});
    if (name == "winograd")
        return conv({1, 16, 20, 20}, {16, 16, 3, 3}, {{"pads", pads1}});
    if (name == "depthwise")
        return conv({2, 8, 12, 12}, {8, 1, 3, 3}, {{"pads", pads1}, {"group", integer(8)}});
    if (name == "depthwise stride 2")
        return conv({1, 8, 13, 13}, {8, 1, 3, 3},
                    {{"pads", pads1}, {"group", integer(8)}, {"strides", ints({2, 2})}});
    if (name == "maxpool stride 2")
        return {"MaxPool",
                "",
                {randomTensor({1, 8, 15, 15}, 4)},
                {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", pads1}}};
    auto fused = [&](Shape x, std::int64_t channels) {
        return Case{"FusedPointwiseDepthwise",
                    "sb",
                    {randomTensor(x, 5), randomTensor({channels, x[1], 1, 1}, 6),
                     randomTensor({channels}, 7), randomTensor({channels, 1, 3, 3}, 8),
                     randomTensor({channels}, 9)},
                    {{"pads", pads1}}};
    };
    if (name == "pointwise+depthwise planes")
        return fused({1, 8, 14, 14}, 24);
    if (name == "pointwise+depthwise bands")
        return fused({1, 4, 60, 60}, 16);
    return fused({2, 8, 7, 7}, 24); // channels last
}

} // namespace

class TestKernelScratch : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { kernels::setKernelChoice(kernels::KernelChoice::Ours); }
    void cleanupTestCase() { kernels::setKernelChoice(kernels::KernelChoice::Auto); }

    void scratchIsTakenFromTheRunAndDeclared_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("threads");
        for (const char *name :
             {"im2col panels", "im2col whole matrix", "im2col grouped", "images side by side",
              "winograd", "depthwise", "depthwise stride 2", "maxpool stride 2",
              "pointwise+depthwise planes", "pointwise+depthwise bands",
              "pointwise+depthwise channels last"})
            for (int threads : {1, 3})
                QTest::addRow("%s, %d thread(s)", name, threads) << QString(name) << threads;
    }
    void scratchIsTakenFromTheRunAndDeclared()
    {
        QFETCH(QString, name);
        QFETCH(int, threads);
        const Case c = caseNamed(name);
        auto g = singleNode(c.op, c.domain, c.inputs, c.attributes);
        g->opsets["sb"] = 1;
        TensorMap inputs;
        for (std::size_t i = 0; i < c.inputs.size(); ++i)
            inputs["in" + std::to_string(i)] = c.inputs[i];
        auto expected = runVariant(g, c.inputs, KernelVariant::Reference, 1);
        QVERIFY2(expected.ok(), expected.ok() ? "" : expected.error().message.c_str());

        CpuDevice device("cpu:0", threads, 0, kernels::defaultRegistry());
        auto executor = Executor::create(g, device);
        QVERIFY(executor.ok());
        // The recording run (heap tensors), then the arena run.
        std::vector<RunResult> runs;
        g_largeHeapBytes = 0;
        for (int r = 0; r < 2; ++r) {
            g_counting = true;
            auto ran = (*executor)->run(inputs);
            g_counting = false;
            QVERIFY2(ran.ok(), ran.ok() ? "" : ran.error().message.c_str());
            runs.push_back(std::move(*ran));
        }
        QCOMPARE(g_largeHeapBytes.load(), std::uint64_t(0));
        QVERIFY(runs[1].stats.usedArena);

        const Tensor &out = runs[1].outputs.at("out");
        QCOMPARE(out.shape(), expected->shape());
        for (std::int64_t i = 0; i < out.elementCount(); ++i) {
            const float want = expected->as<float>()[i];
            QVERIFY2(std::fabs(out.as<float>()[i] - want) <= 1e-4f + 1e-4f * std::fabs(want),
                     qPrintable(
                         QString("element %1: %2 vs %3").arg(i).arg(out.as<float>()[i]).arg(want)));
        }

        plan::ValueShapes shapes;
        for (std::size_t i = 0; i < c.inputs.size(); ++i)
            shapes["in" + std::to_string(i)] = c.inputs[i].shape();
        shapes["out"] = out.shape();
        const plan::StagePrediction stage =
            plan::predictStage(**executor, shapes, plan::KernelRates{}, threads);
        QCOMPARE(stage.nodes.size(), std::size_t(1));
        QVERIFY2(stage.peakScratchBytes > 0, "the kernel declares its scratch");
        // The ledger: the output plus the declared scratch, 64-byte aligned.
        const std::uint64_t outputBytes = (out.byteSize() + 63) / 64 * 64;
        QCOMPARE(stage.peakActivationBytes, outputBytes + (stage.peakScratchBytes + 63) / 64 * 64);
        // Measured by the executor's allocator, both runs.
        QCOMPARE(runs[0].stats.peakMemoryBytes, stage.peakActivationBytes);
        QCOMPARE(runs[1].stats.peakMemoryBytes, stage.peakActivationBytes);
    }

    // A node whose kernel chose oneDNN's implementation (forced here) takes
    // that one's scratchpad and reorder buffers through allocateScratch; once
    // the choice is made the ledger uses the scratch it declared, and the
    // measured peak matches it.
    void chosenImplementationScratchIsPredicted_data()
    {
        QTest::addColumn<int>("choice");
        QTest::newRow("oneDNN plain") << int(kernels::KernelChoice::OneDnn);
        QTest::newRow("oneDNN blocked") << int(kernels::KernelChoice::OneDnnBlocked);
    }
    void chosenImplementationScratchIsPredicted()
    {
        if (!kernels::oneDnnAvailable())
            QSKIP("oneDNN is not built in");
        QFETCH(int, choice);
        kernels::setKernelChoice(static_cast<kernels::KernelChoice>(choice));
        const Case c = conv({2, 16, 14, 14}, {32, 16, 3, 3}, {{"pads", ints({1, 1, 1, 1})}});
        auto g = singleNode(c.op, c.domain, c.inputs, c.attributes);
        TensorMap inputs;
        for (std::size_t i = 0; i < c.inputs.size(); ++i)
            inputs["in" + std::to_string(i)] = c.inputs[i];
        CpuDevice device("cpu:0", 2, 0, kernels::defaultRegistry());
        auto executor = Executor::create(g, device);
        QVERIFY(executor.ok());
        std::string kernel;
        RunOptions options;
        options.onNode = [&](const NodeEvent &event) { kernel = event.kernel ? event.kernel : ""; };
        auto first = (*executor)->run(inputs, options);
        auto second = (*executor)->run(inputs, options);
        kernels::setKernelChoice(kernels::KernelChoice::Ours);
        QVERIFY(first.ok() && second.ok());
        QVERIFY2(kernel.rfind("oneDNN", 0) == 0, kernel.c_str());
        plan::ValueShapes shapes;
        for (std::size_t i = 0; i < c.inputs.size(); ++i)
            shapes["in" + std::to_string(i)] = c.inputs[i].shape();
        shapes["out"] = second->outputs.at("out").shape();
        const plan::StagePrediction stage =
            plan::predictStage(**executor, shapes, plan::KernelRates{}, 2);
        QCOMPARE(second->stats.peakMemoryBytes, stage.peakActivationBytes);
    }
};

QTEST_GUILESS_MAIN(TestKernelScratch)
#include "test_kernel_scratch.moc"
