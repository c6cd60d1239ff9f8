// Host-side tests of the CUDA code's logic, without a GPU:
//  - the __host__ __device__ element math of kernels/cuda/device_math.h
//    (activations, GELU/Erf, broadcast/transpose/slice index maps, the
//    reduction combine steps of Softmax and LayerNormalization, replayed in
//    the block-reduction order of the CUDA kernels) against the CPU
//    reference kernels;
//  - the device bookkeeping of core/runtime/device_ledger.h (memory ledger,
//    stream/event ordering);
//  - `ops --json` coverage: every op of the benchmark and demo models has a
//    CPU kernel and, in CUDA builds, a CUDA kernel.
#include "core/runtime/device_ledger.h"
#include "kernels/cuda/device_math.h"
#include "tests/kernels/kernel_test_util.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

#include <cmath>
#include <functional>

using namespace sb;
using namespace sb::runtime;
using namespace sb::kernel_tests;
namespace cm = sb::kernels::cudamath;

namespace {

Tensor reference(const std::string &op, const std::string &domain,
                 const std::vector<Tensor> &inputs,
                 std::map<std::string, graph::Attribute> attributes = {})
{
    auto result = runVariant(singleNode(op, domain, inputs, std::move(attributes)), inputs,
                             KernelVariant::Reference, 1);
    if (!result)
        qFatal("%s reference failed: %s", op.c_str(), result.error().message.c_str());
    return *result;
}

void expectClose(const Tensor &actual, const Tensor &expected, double rtol, double atol)
{
    CompareResult r = compareTensors(actual, expected, rtol, atol);
    QVERIFY2(r.ok, r.message.c_str());
}

// The CUDA kernels' block reduction: thread t folds elements t, t + T, ...
// then a tree halves the threads. Returns the merged state.
template <typename S, typename Add, typename Merge>
S blockOrder(const float *x, std::int64_t n, int threads, Add add, Merge merge)
{
    std::vector<S> partial(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t)
        for (std::int64_t j = t; j < n; j += threads)
            partial[static_cast<std::size_t>(t)] = add(partial[static_cast<std::size_t>(t)], x[j]);
    for (int stride = threads / 2; stride > 0; stride /= 2)
        for (int t = 0; t < stride; ++t)
            partial[static_cast<std::size_t>(t)] =
                merge(partial[static_cast<std::size_t>(t)],
                      partial[static_cast<std::size_t>(t + stride)]);
    return partial[0];
}

} // namespace

class TestCudaMath : public QObject
{
    Q_OBJECT

private slots:
    void unaryMatchesReference_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("domain");
        QTest::addColumn<int>("code");
        QTest::addColumn<bool>("positive");
        QTest::newRow("Relu") << "Relu"
                              << "" << int(cm::kUnaryRelu) << false;
        QTest::newRow("Sigmoid") << "Sigmoid"
                                 << "" << int(cm::kUnarySigmoid) << false;
        QTest::newRow("Tanh") << "Tanh"
                              << "" << int(cm::kUnaryTanh) << false;
        QTest::newRow("Erf") << "Erf"
                             << "" << int(cm::kUnaryErf) << false;
        QTest::newRow("sb.Gelu") << "Gelu"
                                 << "sb" << int(cm::kUnaryGelu) << false;
        QTest::newRow("Sqrt") << "Sqrt"
                              << "" << int(cm::kUnarySqrt) << true;
        QTest::newRow("Reciprocal") << "Reciprocal"
                                    << "" << int(cm::kUnaryReciprocal) << true;
        QTest::newRow("Exp") << "Exp"
                             << "" << int(cm::kUnaryExp) << false;
        QTest::newRow("Log") << "Log"
                             << "" << int(cm::kUnaryLog) << true;
        QTest::newRow("Neg") << "Neg"
                             << "" << int(cm::kUnaryNeg) << false;
        QTest::newRow("Abs") << "Abs"
                             << "" << int(cm::kUnaryAbs) << false;
    }
    void unaryMatchesReference()
    {
        QFETCH(QString, op);
        QFETCH(QString, domain);
        QFETCH(int, code);
        QFETCH(bool, positive);
        Tensor x = randomTensor({3, 1001}, 7);
        for (std::int64_t i = 0; i < x.elementCount(); ++i) {
            float &v = x.as<float>()[i];
            v = positive ? std::fabs(v) * 4.0f + 0.01f : v * 6.0f; // covers erf's tails
        }
        Tensor expected = reference(op.toStdString(), domain.toStdString(), {x});
        Tensor actual = Tensor::empty(ElementType::Float32, x.shape());
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            actual.as<float>()[i] = cm::unary(code, x.as<float>()[i]);
        expectClose(actual, expected, 1e-5, 1e-6);
    }

    void activationEpilogue()
    {
        // The fused ops' epilogue codes agree with the CPU kernels' Activation kinds.
        QCOMPARE(cm::activate(-2.0f, cm::kActRelu, 0, 0), 0.0f);
        QCOMPARE(cm::activate(3.0f, cm::kActClip, 0.0f, 2.5f), 2.5f);
        QCOMPARE(cm::activate(-1.5f, cm::kActNone, 0, 0), -1.5f);
        Tensor x = randomTensor({257}, 3);
        Tensor expected = reference("Gelu", "sb", {x});
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            QVERIFY(std::fabs(cm::activate(x.as<float>()[i], cm::kActGelu, 0, 0) -
                              expected.as<float>()[i]) <= 1e-6f);
        Tensor clipped =
            reference("Clip", "",
                      {x, Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{-0.25f}),
                       Tensor::fromVector(ElementType::Float32, {}, std::vector<float>{0.5f})});
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            QCOMPARE(cm::clip(x.as<float>()[i], -0.25f, 0.5f), clipped.as<float>()[i]);
    }

    void broadcastBinaryMatchesReference_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<int>("code");
        QTest::addColumn<QList<qlonglong>>("a");
        QTest::addColumn<QList<qlonglong>>("b");
        using L = QList<qlonglong>;
        QTest::newRow("Add trailing") << "Add" << int(cm::kBinaryAdd) << L{2, 3, 5} << L{5};
        QTest::newRow("Sub middle") << "Sub" << int(cm::kBinarySub) << L{2, 1, 5} << L{3, 1};
        QTest::newRow("Mul scalar") << "Mul" << int(cm::kBinaryMul) << L{1} << L{7, 3};
        QTest::newRow("Div both") << "Div" << int(cm::kBinaryDiv) << L{3, 1, 5, 1} << L{1, 4, 1, 6};
        QTest::newRow("Pow square") << "Pow" << int(cm::kBinaryPow) << L{4, 9} << L{1};
        QTest::newRow("Max same") << "Max" << int(cm::kBinaryMax) << L{4, 9} << L{4, 9};
        QTest::newRow("Min rank 0") << "Min" << int(cm::kBinaryMin) << L{2, 2, 3} << L{};
        QTest::newRow("Add odd rank 6")
            << "Add" << int(cm::kBinaryAdd) << L{2, 1, 3, 1, 2, 1} << L{3, 3, 1, 5};
    }
    void broadcastBinaryMatchesReference()
    {
        QFETCH(QString, op);
        QFETCH(int, code);
        QFETCH(QList<qlonglong>, a);
        QFETCH(QList<qlonglong>, b);
        Shape sa(a.begin(), a.end()), sb(b.begin(), b.end());
        Tensor ta = randomTensor(sa, 11), tb = randomTensor(sb, 12);
        if (code == cm::kBinaryPow) {
            for (std::int64_t i = 0; i < ta.elementCount(); ++i)
                ta.as<float>()[i] = std::fabs(ta.as<float>()[i]) + 0.1f;
            tb.as<float>()[0] = 2.0f;
        }
        if (code == cm::kBinaryDiv)
            for (std::int64_t i = 0; i < tb.elementCount(); ++i)
                tb.as<float>()[i] += tb.as<float>()[i] < 0 ? -0.5f : 0.5f;
        Tensor expected = reference(op.toStdString(), "", {ta, tb});
        const Shape &out = expected.shape();
        cm::OffsetMap ma, mb;
        QVERIFY(cm::broadcastMap(sa.data(), static_cast<int>(sa.size()), out.data(),
                                 static_cast<int>(out.size()), ma));
        QVERIFY(cm::broadcastMap(sb.data(), static_cast<int>(sb.size()), out.data(),
                                 static_cast<int>(out.size()), mb));
        Tensor actual = Tensor::empty(ElementType::Float32, out);
        for (std::int64_t i = 0; i < actual.elementCount(); ++i)
            actual.as<float>()[i] = cm::binary(code, ta.as<float>()[cm::mapOffset(ma, i)],
                                               tb.as<float>()[cm::mapOffset(mb, i)]);
        expectClose(actual, expected, 1e-6, 1e-7);
    }

    void broadcastMapRejectsMismatch()
    {
        const std::int64_t in[] = {3, 4}, out[] = {2, 5, 4};
        cm::OffsetMap map;
        QVERIFY(!cm::broadcastMap(in, 2, out, 3, map));
        const std::int64_t deep[9] = {1, 1, 1, 1, 1, 1, 1, 1, 2};
        QVERIFY(!cm::broadcastMap(deep, 9, deep, 9, map)); // above kMaxDims
    }

    void integerBinaryAndCompare()
    {
        // Shape arithmetic on int64: C++ truncation, no trap on division by zero.
        QCOMPARE(cm::binaryInt(cm::kBinaryDiv, -7, 2), std::int64_t{-3});
        QCOMPARE(cm::binaryInt(cm::kBinaryDiv, 7, 0), std::int64_t{0});
        QCOMPARE(cm::binaryInt(cm::kBinaryPow, 3, 4), std::int64_t{81});
        QCOMPARE(cm::binaryInt(cm::kBinaryMul, 1 << 20, 1 << 20), std::int64_t{1} << 40);
        Tensor a = int64Tensor({1, 5, -3, 9}), b = int64Tensor({2, 5, -4, 1});
        Tensor expected = reference("Greater", "", {a, b});
        for (std::int64_t i = 0; i < 4; ++i)
            QCOMPARE(
                static_cast<bool>(expected.as<std::uint8_t>()[i]),
                cm::compare(cm::kCompareGreater, a.as<std::int64_t>()[i], b.as<std::int64_t>()[i]));
    }

    void transposeMapMatchesReference()
    {
        Tensor x = randomTensor({2, 3, 4, 5}, 21);
        const std::vector<std::int64_t> perm = {0, 2, 3, 1};
        Tensor expected = reference("Transpose", "", {x}, {{"perm", ints(perm)}});
        cm::OffsetMap map;
        QVERIFY(cm::transposeMap(x.shape().data(), 4, perm.data(), map));
        QCOMPARE(Shape(map.dims, map.dims + map.rank), expected.shape());
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            QCOMPARE(x.as<float>()[cm::mapOffset(map, i)], expected.as<float>()[i]);
    }

    void sliceMapMatchesReference()
    {
        Tensor x = randomTensor({6, 7, 5}, 31);
        // axis 0: 1..5 step 2; axis 1: 6 down to 1 step -2; axis 2 whole.
        Tensor expected = reference("Slice", "",
                                    {x, int64Tensor({1, 6}), int64Tensor({5, 0}),
                                     int64Tensor({0, 1}), int64Tensor({2, -2})});
        const std::int64_t starts[] = {1, 6, 0}, steps[] = {2, -2, 1};
        const std::int64_t dims[] = {2, 3, 5};
        cm::OffsetMap map;
        QVERIFY(cm::sliceMap(x.shape().data(), 3, starts, steps, dims, map));
        QCOMPARE(expected.shape(), (Shape{2, 3, 5}));
        for (std::int64_t i = 0; i < expected.elementCount(); ++i)
            QCOMPARE(x.as<float>()[cm::mapOffset(map, i)], expected.as<float>()[i]);
    }

    void softmaxCombineMatchesReference_data()
    {
        QTest::addColumn<qlonglong>("cols");
        QTest::addColumn<bool>("masked");
        QTest::newRow("1") << 1ll << false;
        QTest::newRow("7") << 7ll << false;
        QTest::newRow("256") << 256ll << false;
        QTest::newRow("1000 masked") << 1000ll << true;
        QTest::newRow("4099") << 4099ll << false;
    }
    void softmaxCombineMatchesReference()
    {
        QFETCH(qlonglong, cols);
        QFETCH(bool, masked);
        Tensor x = randomTensor({3, cols}, 41);
        for (std::int64_t i = 0; i < x.elementCount(); ++i) {
            x.as<float>()[i] *= 20.0f; // large logits: the max rescaling matters
            if (masked && (i % cols) > (i / cols) * 300 + 5)
                x.as<float>()[i] = -INFINITY; // a causal mask
        }
        Tensor expected = reference("Softmax", "", {x}, {{"axis", integer(-1)}});
        Tensor actual = Tensor::empty(ElementType::Float32, x.shape());
        for (std::int64_t r = 0; r < 3; ++r) {
            const float *row = x.as<float>() + r * cols;
            cm::MaxSum s = blockOrder<cm::MaxSum>(row, cols, 256, cm::maxSumAdd, cm::maxSumMerge);
            for (std::int64_t j = 0; j < cols; ++j)
                actual.as<float>()[r * cols + j] = cm::softmaxApply(row[j], s);
        }
        expectClose(actual, expected, 1e-5, 1e-7);
    }

    void layerNormCombineMatchesReference_data()
    {
        QTest::addColumn<qlonglong>("cols");
        QTest::newRow("1") << 1ll;
        QTest::newRow("33") << 33ll;
        QTest::newRow("768") << 768ll;
        QTest::newRow("5001") << 5001ll;
    }
    void layerNormCombineMatchesReference()
    {
        QFETCH(qlonglong, cols);
        Tensor x = randomTensor({4, cols}, 51);
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            x.as<float>()[i] = x.as<float>()[i] * 3.0f + 10.0f; // offset mean: Welford's case
        Tensor scale = randomTensor({cols}, 52), bias = randomTensor({cols}, 53);
        const float eps = 1e-5f;
        Tensor expected = reference("LayerNormalization", "", {x, scale, bias},
                                    {{"axis", integer(-1)}, {"epsilon", real(eps)}});
        Tensor actual = Tensor::empty(ElementType::Float32, x.shape());
        for (std::int64_t r = 0; r < 4; ++r) {
            const float *row = x.as<float>() + r * cols;
            cm::MeanVar s =
                blockOrder<cm::MeanVar>(row, cols, 256, cm::meanVarAdd, cm::meanVarMerge);
            const float invStd = 1.0f / std::sqrt(cm::meanVarVariance(s) + eps);
            for (std::int64_t j = 0; j < cols; ++j)
                actual.as<float>()[r * cols + j] = cm::layerNormApply(
                    row[j], s.mean, invStd, scale.as<float>()[j], bias.as<float>()[j]);
        }
        expectClose(actual, expected, 1e-4, 1e-5);
    }

    void reductionCombineMatchesReference()
    {
        Tensor x = randomTensor({5, 777}, 61);
        Tensor mean =
            reference("ReduceMean", "", {x}, {{"axes", ints({1})}, {"keepdims", integer(0)}});
        for (std::int64_t r = 0; r < 5; ++r) {
            const float *row = x.as<float>() + r * 777;
            const float sum = blockOrder<float>(row, 777, 256, cm::SumOp{}, cm::SumOp{});
            QVERIFY(std::fabs(sum / 777.0f - mean.as<float>()[r]) <= 1e-6f);
            float mx = cm::MaxOp::identity(), mn = cm::MinOp::identity();
            for (std::int64_t j = 0; j < 777; ++j) {
                mx = cm::MaxOp{}(mx, row[j]);
                mn = cm::MinOp{}(mn, row[j]);
            }
            QCOMPARE(mx, *std::max_element(row, row + 777));
            QCOMPARE(mn, *std::min_element(row, row + 777));
        }
    }

    void gridCoversAnyCount()
    {
        QCOMPARE(cm::gridFor(0, 256), 1u);
        QCOMPARE(cm::gridFor(257, 256), 2u);
        // Counts beyond the grid limit are capped; kernels stride over the rest.
        QCOMPARE(cm::gridFor(std::int64_t{1} << 40, 256), 65535u * 4u);
    }

    // ---- op coverage -----------------------------------------------------------------

    void opsJsonCoversBenchmarkModels()
    {
        // `ops --json`: every op of the benchmark and demo models has a kernel
        // on the CPU and, in CUDA builds, on CUDA devices.
        const QString models = SB_TESTDATA_DIR "/models/";
        const QString demo = SB_SOURCE_DIR "/resources/demo/";
        QStringList args{"ops", "--json"};
        for (const QString &file :
             {models + "resnet_tiny.onnx", models + "mobilenet_tiny.onnx",
              models + "bert_tiny.onnx", models + "gpt_tiny.onnx", models + "mlp.onnx",
              demo + "decoder.onnx", demo + "classifier.onnx"})
            args << "--model" << file;
        QProcess cli;
        cli.start(SB_CLI_PATH, args);
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 0);
        const QJsonObject doc = QJsonDocument::fromJson(cli.readAllStandardOutput()).object();
        const bool cuda = doc["built_with_cuda"].toBool();
        QCOMPARE(doc["kernels"].toObject()["cuda"].toArray().isEmpty(), !cuda);
        const QJsonArray list = doc["models"].toArray();
        QCOMPARE(list.size(), 7);
        for (const QJsonValue &entry : list) {
            const QJsonObject model = entry.toObject();
            QVERIFY(!model["ops"].toArray().isEmpty());
            const QJsonObject missing = model["without_kernel"].toObject();
            QVERIFY2(missing["cpu"].toArray().isEmpty(), qPrintable(model["model"].toString()));
            if (cuda)
                QVERIFY2(missing["cuda"].toArray().isEmpty(),
                         qPrintable(model["model"].toString() + ": " +
                                    QJsonDocument(missing["cuda"].toArray()).toJson()));
        }
    }

    // ---- device bookkeeping -------------------------------------------------------

    void ledgerCapsAtPlanWithMargin()
    {
        DeviceMemoryLedger ledger("cuda:0", 80ull << 30, 1ull << 30);
        QCOMPARE(ledger.cap(), (1ull << 30) + (1ull << 28)); // planned + 25 %
        QCOMPARE(ledger.releaseThreshold(), 1ull << 30);
        DeviceMemoryLedger small("cuda:1", 1ull << 30, 4ull << 30);
        QCOMPARE(small.cap(), 1ull << 30); // never above the GPU's memory
        DeviceMemoryLedger unplanned("cuda:2", 16ull << 30);
        QCOMPARE(unplanned.cap(), 16ull << 30);
        QCOMPARE(unplanned.releaseThreshold(), 0ull);
    }

    void ledgerCountsAndRefuses()
    {
        DeviceMemoryLedger ledger("cuda:0", 1ull << 30, 1000, 0.0);
        auto first = ledger.reserve(100);
        QVERIFY(first);
        QCOMPARE(*first, 256ull); // the allocator's granularity
        QVERIFY(ledger.reserve(512));
        QCOMPARE(ledger.usedBytes(), 768ull);
        auto refused = ledger.reserve(300); // 768 + 512 > 1000
        QVERIFY(!refused);
        const std::string &message = refused.error().message;
        QVERIFY2(message.find("cuda:0") != std::string::npos, message.c_str());
        QVERIFY2(message.find("planned") != std::string::npos, message.c_str());
        QCOMPARE(ledger.usedBytes(), 768ull); // a refusal holds nothing
        ledger.release(100);
        QCOMPARE(ledger.usedBytes(), 512ull);
        QCOMPARE(ledger.peakBytes(), 768ull);
        QCOMPARE(ledger.allocations(), 2ull);
        Error oom = ledger.outOfMemory(1 << 20, "out of memory");
        QVERIFY(oom.message.find("cuda:0") != std::string::npos);
        QVERIFY(oom.message.find("1.0 MiB") != std::string::npos);
        ledger.release(1 << 20); // more than held: clamps at zero
        QCOMPARE(ledger.usedBytes(), 0ull);
    }

    void streamOrderWaitsOncePerEvent()
    {
        StreamOrder order(3);
        StreamEvent a1 = order.record(0);
        QVERIFY(a1.valid());
        QVERIFY(!order.needsWait(0, a1)); // same stream: queue order suffices
        QVERIFY(order.needsWait(1, a1));
        QVERIFY(!order.needsWait(1, a1)); // already waited
        StreamEvent a2 = order.record(0);
        QVERIFY(order.needsWait(1, a2));  // a later event of stream 0
        QVERIFY(!order.needsWait(1, a1)); // covered by the wait for a2
        QVERIFY(order.needsWait(2, a1));  // stream 2 has not waited
        StreamEvent a3 = order.record(0);
        order.hostSynchronized(0);
        QVERIFY(order.knownComplete(a3));
        QVERIFY(!order.needsWait(2, a3)); // the host saw it finish
        StreamEvent b1 = order.record(2);
        QVERIFY(!order.knownComplete(b1));
        QVERIFY(order.needsWait(0, b1));
        QVERIFY(!order.record(7).valid()); // no such stream
        QVERIFY(!order.needsWait(0, StreamEvent{}));
    }
};

QTEST_GUILESS_MAIN(TestCudaMath)
#include "test_cuda_math.moc"
