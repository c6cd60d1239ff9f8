// GPU tests (CUDA builds): every CUDA kernel against the CPU reference
// kernel with the kernel's tolerance, over random shapes with odd sizes and
// broadcasting; whole models on one GPU and split over two against the CPU.
// Each test skips (QSKIP) when this machine has no usable GPU.
#include "core/graph/onnx_import.h"
#include "core/runtime/npy.h"
#include "kernels/gpu_info.h"
#include "tests/kernels/kernel_test_util.h"

#include <QtTest>

#include <cmath>

using namespace sb;
using namespace sb::runtime;
using namespace sb::kernel_tests;

namespace {

bool haveGpus(int count, std::string *why)
{
    const auto gpus = kernels::listGpus(why);
    if (static_cast<int>(gpus.size()) >= count)
        return true;
    if (why && why->empty())
        *why = "this machine has " + std::to_string(gpus.size()) + " GPU(s)";
    return false;
}

#define SKIP_WITHOUT_GPUS(n)                                                                       \
    do {                                                                                           \
        std::string why_;                                                                          \
        if (!haveGpus(n, &why_))                                                                   \
            QSKIP(("needs " + std::to_string(n) + " CUDA GPU(s): " + why_).c_str());               \
    } while (0)

std::unique_ptr<Device> cudaDevice(int index)
{
    DeviceConfig config;
    config.id = "cuda:" + std::to_string(index);
    auto device = DeviceFactory::instance().create(config, kernels::defaultRegistry());
    if (!device)
        qFatal("%s", device.error().message.c_str());
    return std::move(*device);
}

Tensor boolTensor(Shape shape, unsigned seed)
{
    Tensor t = Tensor::empty(ElementType::Bool, std::move(shape));
    for (std::int64_t i = 0; i < t.elementCount(); ++i)
        t.as<std::uint8_t>()[i] = static_cast<std::uint8_t>(((i * 7 + seed) % 3) == 0);
    return t;
}

struct Case
{
    std::string op, domain;
    std::vector<Tensor> inputs;
    std::map<std::string, graph::Attribute> attributes;
};

std::vector<Case> cases()
{
    auto r = [](Shape s, unsigned seed) { return randomTensor(std::move(s), seed); };
    auto positive = [](Shape s, unsigned seed) {
        Tensor t = randomTensor(std::move(s), seed);
        for (std::int64_t i = 0; i < t.elementCount(); ++i)
            t.as<float>()[i] = std::fabs(t.as<float>()[i]) + 0.05f;
        return t;
    };
    std::vector<Case> list;
    for (const char *op : {"Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Neg", "Abs"})
        list.push_back({op, "", {r({3, 17, 33}, 1)}, {}});
    for (const char *op : {"Sqrt", "Reciprocal", "Log"})
        list.push_back({op, "", {positive({1001}, 2)}, {}});
    list.push_back({"Gelu", "sb", {r({5, 129}, 3)}, {}});
    for (const char *op : {"Add", "Sub", "Mul", "Max", "Min"})
        list.push_back({op, "", {r({2, 3, 1, 7}, 4), r({5, 1}, 5)}, {}});
    list.push_back({"Div", "", {r({4, 9}, 6), positive({9}, 7)}, {}});
    list.push_back({"Pow",
                    "",
                    {positive({3, 11}, 8),
                     Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{2.0f})},
                    {}});
    list.push_back(
        {"Add", "", {int64Tensor({1, 2, 3, 4, 5, 6}, {2, 3}), int64Tensor({10, 20, 30})}, {}});
    list.push_back({"Greater", "", {r({6, 5}, 9), r({5}, 10)}, {}});
    list.push_back({"Equal", "", {int64Tensor({1, 2, 3}), int64Tensor({1, 0, 3})}, {}});
    list.push_back({"Not", "", {boolTensor({13}, 1)}, {}});
    list.push_back({"Where", "", {boolTensor({4, 1, 6}, 2), r({5, 6}, 11), r({4, 5, 1}, 12)}, {}});
    list.push_back(
        {"Cast", "", {r({7, 3}, 13)}, {{"to", integer(static_cast<int>(ElementType::Int64))}}});
    list.push_back({"Cast",
                    "",
                    {int64Tensor({0, 3, -2})},
                    {{"to", integer(static_cast<int>(ElementType::Float32))}}});
    list.push_back(
        {"Clip",
         "",
         {r({1, 333}, 14), Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{0.0f}),
          Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{0.3f})},
         {}});
    list.push_back({"Softmax", "", {r({3, 4, 1031}, 15)}, {{"axis", integer(-1)}}});
    list.push_back({"Softmax", "", {r({3, 7, 5}, 16)}, {{"axis", integer(1)}}});
    list.push_back({"LayerNormalization",
                    "",
                    {r({2, 5, 771}, 17), r({771}, 18), r({771}, 19)},
                    {{"axis", integer(-1)}}});
    list.push_back(
        {"ReduceMean", "", {r({3, 17, 9}, 20)}, {{"axes", ints({1})}, {"keepdims", integer(1)}}});
    list.push_back(
        {"ReduceSum", "", {r({3, 17, 9}, 21), int64Tensor({0, 2})}, {{"keepdims", integer(0)}}});
    list.push_back({"MatMul", "", {r({37, 65}, 22), r({65, 19}, 23)}, {}});
    list.push_back({"MatMul", "", {r({2, 3, 17, 33}, 24), r({2, 3, 33, 9}, 25)}, {}});
    list.push_back({"MatMul", "", {r({4, 11, 8}, 26), r({8, 13}, 27)}, {}});
    list.push_back({"FusedMatMul",
                    "sb",
                    {r({3, 10, 32}, 28), r({32, 45}, 29), r({45}, 30)},
                    {{"activation", text("Gelu")}}});
    list.push_back({"Gemm",
                    "",
                    {r({9, 31}, 31), r({23, 31}, 32), r({23}, 33)},
                    {{"transB", integer(1)}, {"beta", real(0.5)}}});
    list.push_back({"FusedGemm",
                    "sb",
                    {r({31, 9}, 34), r({31, 23}, 35), r({1, 23}, 36)},
                    {{"transA", integer(1)}, {"activation", text("Relu")}}});
    list.push_back({"Conv",
                    "",
                    {r({2, 3, 17, 15}, 37), r({8, 3, 3, 3}, 38), r({8}, 39)},
                    {{"pads", ints({1, 1, 1, 1})}, {"strides", ints({2, 2})}}});
    list.push_back({"Conv",
                    "",
                    {r({1, 8, 9, 9}, 40), r({8, 1, 3, 3}, 41)},
                    {{"pads", ints({1, 1, 1, 1})}, {"group", integer(8)}}});
    list.push_back(
        {"FusedConv",
         "sb",
         {r({1, 4, 8, 8}, 42), r({6, 4, 1, 1}, 43), r({6}, 44)},
         {{"activation", text("Clip")}, {"clip_min", real(0.0)}, {"clip_max", real(6.0)}}});
    list.push_back({"BatchNormalization",
                    "",
                    {r({2, 3, 5, 5}, 45), r({3}, 46), r({3}, 47), r({3}, 48), positive({3}, 49)},
                    {}});
    list.push_back({"MaxPool",
                    "",
                    {r({2, 3, 11, 10}, 50)},
                    {{"kernel_shape", ints({3, 3})},
                     {"strides", ints({2, 2})},
                     {"pads", ints({1, 1, 1, 1})}}});
    list.push_back({"AveragePool",
                    "",
                    {r({1, 2, 9, 9}, 51)},
                    {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}});
    list.push_back({"GlobalAveragePool", "", {r({2, 5, 7, 9}, 52)}, {}});
    list.push_back({"Gather",
                    "",
                    {r({50, 16}, 53), int64Tensor({3, -1, 0, 49, 7, 7}, {2, 3})},
                    {{"axis", integer(0)}}});
    list.push_back({"Gather", "", {r({4, 9, 5}, 54), int64Tensor({8, 0})}, {{"axis", integer(1)}}});
    list.push_back({"Transpose", "", {r({2, 3, 5, 7}, 55)}, {{"perm", ints({0, 2, 1, 3})}}});
    list.push_back({"Concat",
                    "",
                    {r({2, 3, 5}, 56), r({2, 1, 5}, 57), r({2, 4, 5}, 58)},
                    {{"axis", integer(1)}}});
    list.push_back({"Slice",
                    "",
                    {r({6, 9, 4}, 59), int64Tensor({1, -1}), int64Tensor({5, 0}),
                     int64Tensor({0, 1}), int64Tensor({2, -3})},
                    {}});
    list.push_back({"Trilu",
                    "",
                    {r({2, 7, 7}, 60),
                     Tensor::fromVector(ElementType::Int64, {}, std::vector<std::int64_t>{1})},
                    {{"upper", integer(0)}}});
    list.push_back({"Reshape", "", {r({2, 3, 4}, 61), int64Tensor({0, -1})}, {}});
    list.push_back({"Unsqueeze", "", {r({3, 4}, 62), int64Tensor({0, 3})}, {}});
    list.push_back({"Squeeze", "", {r({3, 1, 4}, 63), int64Tensor({1})}, {}});
    list.push_back({"Flatten", "", {r({2, 3, 4, 5}, 64)}, {{"axis", integer(2)}}});
    list.push_back({"Shape", "", {r({2, 3, 4}, 65)}, {}});
    list.push_back({"Range",
                    "",
                    {Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{1.0f}),
                     Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{9.0f}),
                     Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{1.5f})},
                    {}});
    return list;
}

} // namespace

class TestCudaKernels : public QObject
{
    Q_OBJECT

private slots:
    void kernelsMatchCpuReference_data()
    {
        QTest::addColumn<int>("index");
        const auto list = cases();
        for (std::size_t i = 0; i < list.size(); ++i)
            QTest::newRow((std::to_string(i) + " " + list[i].domain + list[i].op).c_str())
                << static_cast<int>(i);
    }
    void kernelsMatchCpuReference()
    {
        SKIP_WITHOUT_GPUS(1);
        QFETCH(int, index);
        const Case c = cases()[static_cast<std::size_t>(index)];
        auto g = singleNode(c.op, c.domain, c.inputs, c.attributes);
        const KernelInfo *kernel =
            kernels::defaultRegistry().find(c.op, c.domain, DeviceKind::Cuda);
        QVERIFY2(kernel, ("no CUDA kernel for " + c.op).c_str());
        CpuDevice cpu("cpu:0", 1, 0, kernels::defaultRegistry());
        auto expected = runOn(cpu, g, c.inputs, KernelVariant::Reference);
        QVERIFY2(expected, expected ? "" : expected.error().message.c_str());
        auto gpu = cudaDevice(0);
        auto actual = runOn(*gpu, g, c.inputs, KernelVariant::Fast);
        QVERIFY2(actual, actual ? "" : actual.error().message.c_str());
        CompareResult r =
            compareTensors(*actual, *expected, kernel->tolerance.rtol, kernel->tolerance.atol);
        QVERIFY2(r.ok, r.message.c_str());
    }

    void modelsMatchCpu_data()
    {
        QTest::addColumn<QString>("model");
        for (const char *m :
             {"resnet_tiny", "mobilenet_tiny", "bert_tiny", "gpt_tiny", "mlp", "demo_decoder"})
            QTest::newRow(m) << m;
    }
    void modelsMatchCpu()
    {
        SKIP_WITHOUT_GPUS(1);
        QFETCH(QString, model);
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
            QVERIFY2(t, t ? "" : t.error().message.c_str());
            inputs[(*graph)->value((*graph)->inputs()[i]).name] = *t;
        }
        CpuDevice cpu("cpu:0", 2, 0, kernels::defaultRegistry());
        auto cpuExec = Executor::create(*graph, cpu);
        QVERIFY(cpuExec);
        auto expected = (*cpuExec)->run(inputs);
        QVERIFY2(expected, expected ? "" : expected.error().message.c_str());
        auto gpu = cudaDevice(0);
        auto gpuExec = Executor::create(*graph, *gpu);
        QVERIFY2(gpuExec, gpuExec ? "" : gpuExec.error().message.c_str());
        for (int run = 0; run < 2; ++run) { // recording run, then the arena
            auto actual = (*gpuExec)->run(inputs);
            QVERIFY2(actual, actual ? "" : actual.error().message.c_str());
            QCOMPARE(actual->stats.fallbackNodes, 0);
            for (const auto &[out, tensor] : expected->outputs) {
                CompareResult r = compareTensors(actual->outputs.at(out), tensor, 1e-3, 1e-4);
                QVERIFY2(r.ok, (out + ": " + r.message).c_str());
            }
        }
    }

    void twoGpuSplitMatchesCpu()
    {
        SKIP_WITHOUT_GPUS(2);
        auto graph = graph::importOnnxFile(SB_SOURCE_DIR "/resources/demo/decoder.onnx");
        QVERIFY(graph);
        auto input = readNpy(SB_TESTDATA_DIR "/models/demo_decoder.in0.npy");
        QVERIFY(input);
        TensorMap inputs{{(*graph)->value((*graph)->inputs()[0]).name, *input}};
        CpuDevice cpu("cpu:0", 2, 0, kernels::defaultRegistry());
        auto expected = (*Executor::create(*graph, cpu))->run(inputs);
        QVERIFY(expected);
        const auto count = static_cast<graph::NodeId>((*graph)->nodes().size());
        std::vector<graph::NodeId> first, second;
        for (graph::NodeId n = 0; n < count; ++n)
            (n < count / 2 ? first : second).push_back(n);
        auto gpu0 = cudaDevice(0), gpu1 = cudaDevice(1);
        auto stage0 = Executor::create(*graph, first, *gpu0);
        auto stage1 = Executor::create(*graph, second, *gpu1);
        QVERIFY(stage0 && stage1);
        TensorMap stage0Inputs;
        for (const auto &name : (*stage0)->inputNames())
            stage0Inputs[name] = inputs.at(name);
        auto mid = (*stage0)->run(stage0Inputs);
        QVERIFY2(mid, mid ? "" : mid.error().message.c_str());
        TensorMap stage1Inputs;
        for (const auto &name : (*stage1)->inputNames())
            stage1Inputs[name] = mid->outputs.count(name) ? mid->outputs.at(name) : inputs.at(name);
        auto out = (*stage1)->run(stage1Inputs);
        QVERIFY2(out, out ? "" : out.error().message.c_str());
        for (const auto &[name, tensor] : expected->outputs) {
            const Tensor &actual =
                out->outputs.count(name) ? out->outputs.at(name) : mid->outputs.at(name);
            CompareResult r = compareTensors(actual, tensor, 1e-3, 1e-4);
            QVERIFY2(r.ok, (name + ": " + r.message).c_str());
        }
    }
};

QTEST_GUILESS_MAIN(TestCudaKernels)
#include "test_cuda_kernels.moc"
