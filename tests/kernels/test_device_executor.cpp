// The executor's accelerator path without an accelerator: a fake device of
// kind Cuda whose memory is tagged as device memory (not host-readable as far
// as the executor knows) and whose kernels are the CPU reference kernels
// wrapped in checks of what a CUDA kernel may assume:
//  - every input it reads on the device is in the device's memory, every
//    input it declares in hostInputs is in host memory;
//  - it runs with an execution context (the stage's stream);
//  - outputs go to device memory.
// Nodes whose op has no "device" kernel must run on the CPU with counted
// copies; shape arithmetic runs on the host. Results must equal a CPU run,
// on the recording run and on the arena run.
#include "core/graph/onnx_import.h"
#include "core/runtime/npy.h"
#include "kernels/cpu/reference/reference.h"
#include "tests/kernels/kernel_test_util.h"

#include <QtTest>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <set>

using namespace sb;
using namespace sb::runtime;
using namespace sb::kernel_tests;

namespace {

class FakeDeviceMemory final : public BufferType
{
public:
    const std::string &deviceId() const override { return m_id; }
    std::size_t alignment() const override { return 256; }
    bool isHost() const override { return false; }
    std::uint64_t capacity() const override { return 0; }
    std::uint64_t usedBytes() const override { return m_used.load(); }
    Result<void *> allocate(std::size_t bytes) override
    {
        const std::size_t rounded = (bytes + 255) / 256 * 256 + 256;
        m_used += rounded;
        ++allocations;
        return std::aligned_alloc(256, rounded);
    }
    void free(void *data, std::size_t bytes) override
    {
        std::free(data);
        m_used -= (bytes + 255) / 256 * 256 + 256;
    }
    std::atomic<int> allocations{0};

private:
    std::string m_id = "fake:0";
    std::atomic<std::uint64_t> m_used{0};
};

class FakeStream final : public ExecutionContext
{
public:
    std::string describe() const override { return "fake stream"; }
    Status synchronize() override
    {
        ++synchronizations;
        return {};
    }
    std::atomic<int> synchronizations{0};
};

class FakeDevice final : public Device
{
public:
    explicit FakeDevice(const KernelRegistry &registry) : m_registry(registry) {}
    const std::string &id() const override { return m_id; }
    DeviceKind kind() const override { return DeviceKind::Cuda; }
    std::uint64_t memoryCapacity() const override { return 0; }
    BufferType &bufferType() override { return memory; }
    ExecutionContext &context() override { return m_context; }
    const KernelRegistry &registry() const override { return m_registry; }
    Status copyToHost(const Tensor &src, void *dst) override
    {
        if (src.isHost())
            return makeError(ErrorCode::Internal, "copyToHost of a host tensor");
        hostBytes += src.byteSize();
        std::memcpy(dst, src.data(), src.byteSize());
        return {};
    }
    Status copyFromHost(const void *src, Tensor &dst) override
    {
        if (dst.isHost())
            return makeError(ErrorCode::Internal, "copyFromHost into a host tensor");
        deviceBytes += dst.byteSize();
        std::memcpy(dst.data(), src, dst.byteSize());
        return {};
    }
    Status synchronize() override { return {}; }
    std::unique_ptr<ExecutionContext> createStageContext() override
    {
        auto stream = std::make_unique<FakeStream>();
        lastStream = stream.get();
        return stream;
    }

    FakeDeviceMemory memory;
    FakeStream *lastStream = nullptr;
    std::atomic<std::uint64_t> hostBytes{0}, deviceBytes{0};

private:
    std::string m_id = "fake:0";
    const KernelRegistry &m_registry;
    FakeStream m_context;
};

// The CUDA kernels' host inputs (kernels/cuda/cuda_kernels.cpp).
const std::map<std::string, std::vector<int>> kHostInputs = {{"Reshape", {1}},
                                                             {"Slice", {1, 2, 3, 4}},
                                                             {"Split", {1}},
                                                             {"Unsqueeze", {1}},
                                                             {"Squeeze", {1}},
                                                             {"Trilu", {1}},
                                                             {"Clip", {1, 2}},
                                                             {"ReduceMean", {1}},
                                                             {"ReduceSum", {1}},
                                                             {"Range", {0, 1, 2}},
                                                             {"ConstantOfShape", {0, 1, 2}}};

// Registry: the CPU kernels, plus each CPU reference kernel as a checked
// "device" kernel except for the ops in `withoutDeviceKernel`.
KernelRegistry fakeRegistry(const std::set<std::string> &withoutDeviceKernel)
{
    KernelRegistry registry;
    kernels::registerCpuKernels(registry);
    for (const std::string &qualified : registry.opTypes(DeviceKind::Cpu)) {
        const auto dot = qualified.rfind('.');
        const std::string domain = dot == std::string::npos ? "" : qualified.substr(0, dot);
        const std::string op = dot == std::string::npos ? qualified : qualified.substr(dot + 1);
        if (withoutDeviceKernel.count(qualified))
            continue;
        const KernelInfo *cpu =
            registry.find(op, domain, DeviceKind::Cpu, KernelVariant::Reference);
        KernelInfo info = *cpu;
        info.device = DeviceKind::Cuda;
        info.variant = KernelVariant::Fast;
        if (op == "Shape" || op == "Size") {
            info.shapeOnly = true;
            registry.add(std::move(info));
            continue;
        }
        auto hostIt = kHostInputs.find(op);
        info.hostInputs = hostIt == kHostInputs.end() ? std::vector<int>{} : hostIt->second;
        const std::vector<int> hostInputs = info.hostInputs;
        const KernelFn fn = cpu->fn;
        info.fn = [fn, hostInputs](KernelContext &ctx) -> Status {
            if (!ctx.execution())
                return ctx.invalid("device kernel run without a stream");
            for (std::size_t i = 0; i < ctx.inputCount(); ++i) {
                if (!ctx.hasInput(i))
                    continue;
                const bool wantHost = std::find(hostInputs.begin(), hostInputs.end(),
                                                static_cast<int>(i)) != hostInputs.end();
                if (ctx.input(i).isHost() != wantHost)
                    return ctx.invalid("input " + std::to_string(i) + " is in " +
                                       (ctx.input(i).isHost() ? "host" : "device") + " memory");
            }
            SB_TRY(fn(ctx));
            for (std::size_t o = 0; o < ctx.outputCount(); ++o)
                if (ctx.hasOutput(o) && ctx.output(o).isValid() && ctx.output(o).isHost())
                    return ctx.invalid("output " + std::to_string(o) + " is in host memory");
            return {};
        };
        registry.add(std::move(info));
    }
    return registry;
}

} // namespace

class TestDeviceExecutor : public QObject
{
    Q_OBJECT

private slots:
    void modelsMatchCpu_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("fallbackOp");
        QTest::newRow("demo decoder, Where on the CPU") << "demo_decoder"
                                                        << "Where";
        QTest::newRow("gpt, Softmax on the CPU") << "gpt_tiny"
                                                 << "Softmax";
        QTest::newRow("bert, all on the device") << "bert_tiny"
                                                 << "";
        QTest::newRow("mobilenet, Add on the CPU") << "mobilenet_tiny"
                                                   << "Add";
    }
    void modelsMatchCpu()
    {
        QFETCH(QString, model);
        QFETCH(QString, fallbackOp);
        const std::string name = model.toStdString();
        const std::string dir = SB_TESTDATA_DIR "/models/";
        const std::string file = name == "demo_decoder"
                                     ? std::string(SB_SOURCE_DIR "/resources/demo/decoder.onnx")
                                     : dir + name + ".onnx";
        auto graph = graph::importOnnxFile(file);
        QVERIFY2(graph, graph ? "" : graph.error().message.c_str());
        TensorMap inputs;
        for (std::size_t i = 0; i < (*graph)->inputs().size(); ++i) {
            auto t = readNpy(dir + name + ".in" + std::to_string(i) + ".npy");
            QVERIFY(t);
            inputs[(*graph)->value((*graph)->inputs()[i]).name] = *t;
        }
        std::set<std::string> without;
        if (!fallbackOp.isEmpty())
            without.insert(fallbackOp.toStdString());
        const KernelRegistry registry = fakeRegistry(without);
        ExecutorOptions options;
        options.variant = KernelVariant::Reference;
        CpuDevice cpu("cpu:0", 1, 0, registry);
        auto cpuExec = Executor::create(*graph, cpu, options);
        QVERIFY(cpuExec);
        auto expected = (*cpuExec)->run(inputs);
        QVERIFY2(expected, expected ? "" : expected.error().message.c_str());

        FakeDevice device(registry);
        auto exec = Executor::create(*graph, device, options);
        QVERIFY2(exec, exec ? "" : exec.error().message.c_str());
        int fallbackNodes = 0;
        for (const graph::Node &node : (*exec)->executedGraph().nodes())
            fallbackNodes += node.opType == fallbackOp.toStdString() ? 1 : 0;
        for (int run = 0; run < 2; ++run) { // recording run, then the arena
            auto actual = (*exec)->run(inputs);
            QVERIFY2(actual, actual ? "" : actual.error().message.c_str());
            QCOMPARE(actual->stats.usedArena, run == 1);
            // Nodes of the op that are shape arithmetic on host integers
            // run on the host without copies, so at most `fallbackNodes`.
            if (fallbackNodes == 0)
                QCOMPARE(actual->stats.fallbackNodes, 0);
            else
                QVERIFY(actual->stats.fallbackNodes > 0 &&
                        actual->stats.fallbackNodes <= fallbackNodes);
            QCOMPARE(actual->stats.fallbackCopyBytes > 0, actual->stats.fallbackNodes > 0);
            QVERIFY(actual->stats.transferBytes > 0);
            for (const auto &[out, tensor] : expected->outputs) {
                const Tensor &got = actual->outputs.at(out);
                QVERIFY2(got.isHost(), out.c_str());
                CompareResult r = compareTensors(got, tensor, 0, 0);
                QVERIFY2(r.ok, (out + ": " + r.message).c_str());
            }
        }
        QVERIFY(device.lastStream && device.lastStream->synchronizations > 0);
        QVERIFY(device.deviceBytes > 0 && device.hostBytes > 0);
        exec->reset();
        cpuExec->reset();
        QCOMPARE(device.memory.usedBytes(), 0ull); // everything allocated was freed
    }

    void unsupportedOpNamesTheNode()
    {
        // No device kernel and no CPU kernel: the error names the op.
        KernelRegistry registry; // empty
        FakeDevice device(registry);
        auto g = singleNode("Relu", "", {randomTensor({4}, 1)}, {});
        auto exec = Executor::create(g, device);
        QVERIFY(exec);
        auto result = (*exec)->run({{"in0", randomTensor({4}, 1)}});
        QVERIFY(!result);
        QCOMPARE(result.error().code, ErrorCode::Unsupported);
        QVERIFY2(result.error().message.find("Relu") != std::string::npos,
                 result.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestDeviceExecutor)
#include "test_device_executor.moc"
