// Tensor parallelism: 2- and 4-way splits of the demo decoder's MLP and
// attention blocks reproduce the single-device run; the collectives; plan
// validation of tensor_parallel entries; the ledger divides the weights.
#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"
#include "core/plan/local_run.h"
#include "core/plan/plan_file.h"
#include "core/plan/planner.h"
#include "core/plan/tensor_parallel.h"
#include "core/plan/validate.h"
#include "core/runtime/executor.h"
#include "core/runtime/npy.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/tensor_io.h"
#include "core/runtime/tensor_parallel.h"
#include "kernels/registry.h"

#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>

using namespace sb;
using namespace sb::runtime;

namespace {

const char *kDecoder = SB_SOURCE_DIR "/resources/demo/decoder.onnx";

double relativeError(const Tensor &actual, const Tensor &expected)
{
    if (actual.shape() != expected.shape() || actual.type() != expected.type())
        return 1e30;
    double maxAbs = 0, maxRef = 0;
    for (std::int64_t i = 0; i < expected.elementCount(); ++i) {
        maxAbs =
            std::max(maxAbs, std::abs(double(actual.as<float>()[i]) - expected.as<float>()[i]));
        maxRef = std::max(maxRef, std::abs(double(expected.as<float>()[i])));
    }
    return maxRef > 0 ? maxAbs / maxRef : maxAbs;
}

plan::Plan decoderPlan(const graph::Graph &graph, int devices)
{
    plan::Plan plan;
    plan.batch = 2;
    plan.microbatches = 1;
    plan.dims["seq"] = 64;
    for (int i = 0; i < devices; ++i) {
        plan::DeviceSpec spec;
        spec.id = "cpu:" + std::to_string(i);
        spec.kind = "cpu";
        spec.threads = 1;
        spec.memoryBytes = 1ull << 30;
        spec.flops = 1e10;
        spec.memoryBandwidth = 1e10;
        plan.devices.devices.push_back(spec);
    }
    for (const graph::Node &node : graph.nodes())
        plan.assignment[node.name] = "cpu:0";
    return plan;
}

// Megatron entries for every block: "mlp", "attn" or both.
nlohmann::json decoderSplits(const std::string &what, int parts)
{
    nlohmann::json devices = nlohmann::json::array();
    for (int i = 0; i < parts; ++i)
        devices.push_back("cpu:" + std::to_string(i));
    nlohmann::json list = nlohmann::json::array();
    for (int b = 0; b < 6; ++b) {
        const std::string block = "/blocks." + std::to_string(b);
        if (what != "attn") {
            list.push_back({{"nodes", {block + "/mlp/mlp.0/MatMul"}},
                            {"devices", devices},
                            {"mode", "column"}});
            list.push_back(
                {{"nodes", {block + "/mlp/mlp.2/MatMul"}}, {"devices", devices}, {"mode", "row"}});
        }
        if (what != "mlp") {
            list.push_back({{"nodes", {block + "/attn/qkv/MatMul"}},
                            {"devices", devices},
                            {"mode", "column"}});
            list.push_back(
                {{"nodes", {block + "/attn/proj/MatMul"}}, {"devices", devices}, {"mode", "row"}});
        }
    }
    return list;
}

// The capacity fixture: y = x + fc2(relu(fc1(x))), x [batch, 64], fc1 64 -> 2048,
// fc2 2048 -> 64 (float32, seeded weights): each weight is 512 KiB, more than
// a 400 KiB device holds.
std::shared_ptr<graph::Graph> wideMlp()
{
    auto graph = std::make_shared<graph::Graph>();
    graph->opsets[""] = 17;
    std::mt19937 random(14);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    auto value = [&](const std::string &name, std::vector<graph::Dim> dims) {
        graph::Value v;
        v.name = name;
        v.info.type = graph::ElementType::Float32;
        v.info.shape.rankKnown = true;
        v.info.shape.dims = std::move(dims);
        return graph->addValue(v);
    };
    auto weight = [&](const std::string &name, std::vector<std::int64_t> dims) {
        std::int64_t count = 1;
        for (std::int64_t d : dims)
            count *= d;
        std::vector<float> values(static_cast<std::size_t>(count));
        for (float &x : values)
            x = normal(random);
        std::vector<std::uint8_t> bytes(values.size() * sizeof(float));
        std::memcpy(bytes.data(), values.data(), bytes.size());
        graph::Value v;
        v.name = name;
        v.info.type = graph::ElementType::Float32;
        v.info.shape.rankKnown = true;
        for (std::int64_t d : dims)
            v.info.shape.dims.push_back(graph::Dim::known(d));
        v.initializer =
            graph::TensorData::fromBytes(graph::ElementType::Float32, dims, std::move(bytes));
        return graph->addValue(v);
    };
    const auto batch = graph::Dim::symbolic("batch");
    auto wide = [&](const std::string &name) {
        return value(name, {batch, graph::Dim::known(2048)});
    };
    const graph::ValueId x = value("x", {batch, graph::Dim::known(64)});
    const graph::ValueId w1 = weight("fc1.weight", {64, 2048}), b1 = weight("fc1.bias", {2048});
    const graph::ValueId w2 = weight("fc2.weight", {2048, 64}), b2 = weight("fc2.bias", {64});
    const graph::ValueId h1 = wide("h1"), h2 = wide("h2"), h3 = wide("h3");
    const graph::ValueId o1 = value("o1", {batch, graph::Dim::known(64)});
    const graph::ValueId o2 = value("o2", {batch, graph::Dim::known(64)});
    const graph::ValueId y = value("y", {batch, graph::Dim::known(64)});
    graph->mutableInputs() = {x};
    graph->mutableOutputs() = {y};
    auto node = [&](const std::string &name, const std::string &op,
                    std::vector<graph::ValueId> inputs, graph::ValueId output) {
        graph::Node n;
        n.name = name;
        n.opType = op;
        n.inputs = std::move(inputs);
        n.outputs = {output};
        graph->mutableNodes().push_back(n);
    };
    node("/mlp/fc1/MatMul", "MatMul", {x, w1}, h1);
    node("/mlp/fc1/Add", "Add", {h1, b1}, h2);
    node("/mlp/Relu", "Relu", {h2}, h3);
    node("/mlp/fc2/MatMul", "MatMul", {h3, w2}, o1);
    node("/mlp/fc2/Add", "Add", {o1, b2}, o2);
    node("/Add", "Add", {x, o2}, y);
    graph->rebuildIndex();
    return graph;
}

plan::DeviceSet smallDevices(int count, std::uint64_t bytes)
{
    plan::DeviceSet devices;
    for (int i = 0; i < count; ++i) {
        plan::DeviceSpec spec;
        spec.id = "cpu:" + std::to_string(i);
        spec.kind = "cpu";
        spec.threads = 1;
        spec.memoryBytes = bytes;
        spec.flops = 1e10;
        spec.memoryBandwidth = 1e10;
        devices.devices.push_back(spec);
    }
    return devices;
}

} // namespace

class TestTensorParallel : public QObject
{
    Q_OBJECT

    std::shared_ptr<graph::Graph> m_graph;
    TensorMap m_inputs;
    TensorMap m_reference;
    QTemporaryDir m_dir;

private slots:
    void initTestCase()
    {
        auto graph = graph::importOnnxFile(kDecoder);
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        m_graph = *graph;
        auto ids = readTensorFile(SB_SOURCE_DIR "/resources/demo/decoder_input.npy");
        QVERIFY(ids.ok());
        // The first two sequences (batch 2, seq 64).
        Tensor two = Tensor::empty(ids->type(), {2, ids->dim(1)});
        std::memcpy(two.data(), ids->data(), two.byteSize());
        m_inputs["input_ids"] = two;
        CpuDevice device("cpu:ref", 2, 0, kernels::defaultRegistry());
        auto executor = Executor::create(m_graph, device);
        QVERIFY(executor.ok());
        auto ran = (*executor)->run(m_inputs);
        QVERIFY2(ran.ok(), ran.ok() ? "" : ran.error().message.c_str());
        m_reference = ran->outputs;
    }

    void collectivesSumAndGatherInGroupOrder()
    {
        InProcessTransport transport;
        QVERIFY(transport.open(3, {{0, 1}, {0, 2}, {1, 0}, {1, 2}, {2, 0}, {2, 1}}).ok());
        std::vector<Tensor> reduced(3), gathered(3);
        std::vector<std::thread> threads;
        for (int r = 0; r < 3; ++r)
            threads.emplace_back([&, r] {
                std::vector<float> values = {float(r + 1), float(10 * (r + 1))};
                Tensor t = Tensor::fromVector(graph::ElementType::Float32, {1, 2}, values);
                if (transport.allReduceSum({0, 1, 2}, r, t, nullptr).ok())
                    reduced[static_cast<std::size_t>(r)] = t;
                auto all = transport.allGather(
                    {0, 1, 2}, r, Tensor::fromVector(graph::ElementType::Float32, {1, 2}, values),
                    1, nullptr);
                if (all.ok())
                    gathered[static_cast<std::size_t>(r)] = *all;
            });
        for (auto &thread : threads)
            thread.join();
        for (int r = 0; r < 3; ++r) {
            const Tensor &sum = reduced[static_cast<std::size_t>(r)];
            QVERIFY(sum.isValid());
            QCOMPARE(sum.as<float>()[0], 6.0f);
            QCOMPARE(sum.as<float>()[1], 60.0f);
            const Tensor &all = gathered[static_cast<std::size_t>(r)];
            QVERIFY(all.isValid());
            QCOMPARE(all.shape(), (Shape{1, 6}));
            const float expected[] = {1, 10, 2, 20, 3, 30};
            for (int i = 0; i < 6; ++i)
                QCOMPARE(all.as<float>()[i], expected[i]);
        }
        // Shard-major pieces of two segments back into segment-major order.
        std::vector<float> pieces = {0, 1, 10, 11, 2, 3, 12, 13}; // shard 0: a0 a1 b0 b1, shard 1
        Tensor whole = interleaveSegments(
            Tensor::fromVector(graph::ElementType::Float32, {1, 8}, pieces), 1, {4, 4}, 2);
        const float order[] = {0, 1, 2, 3, 10, 11, 12, 13};
        for (int i = 0; i < 8; ++i)
            QCOMPARE(whole.as<float>()[i], order[i]);
    }

    void decoderSplitsMatchSingleDevice_data()
    {
        QTest::addColumn<QString>("blocks");
        QTest::addColumn<int>("parts");
        for (const char *blocks : {"mlp", "attn", "both"})
            for (int parts : {2, 4})
                QTest::newRow(QString("%1 %2-way").arg(blocks).arg(parts).toUtf8().constData())
                    << QString(blocks) << parts;
    }
    void decoderSplitsMatchSingleDevice()
    {
        QFETCH(QString, blocks);
        QFETCH(int, parts);
        plan::Plan plan = decoderPlan(*m_graph, parts);
        plan.tensorParallel = decoderSplits(blocks.toStdString(), parts);
        const plan::ValidationReport report = plan::validatePlan(*m_graph, plan, {});
        for (const plan::Problem &problem : report.problems)
            qWarning("%s: %s", problem.code.c_str(), problem.message.c_str());
        QVERIFY(report.ok());
        QVERIFY(report.estimate);
        // The ledger divides the split weights across the group.
        const auto &ledger = report.estimate->ledger;
        QCOMPARE(ledger.size(), std::size_t(parts));
        QVERIFY(ledger[0].weights < m_graph->parameterBytes());
        QCOMPARE(ledger[1].weights, ledger[0].weights);
        QVERIFY(report.estimate->stages[0].collectiveSeconds > 0);
        const int perBlock = blocks == "both" ? 2 : 1;
        QCOMPARE(report.estimate->stages[0].allReduces, 6 * perBlock);
        QCOMPARE(report.estimate->stages[0].allGathers, 0);

        auto pipeline = plan::openLocalPipeline(m_graph, plan, kernels::defaultRegistry());
        QVERIFY2(pipeline.ok(), pipeline.ok() ? "" : pipeline.error().message.c_str());
        for (int iteration = 0; iteration < 2; ++iteration) {
            auto result = (*pipeline)->runner->run(m_inputs, {});
            QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
            for (const auto &[name, expected] : m_reference) {
                const double error = relativeError(result->outputs.at(name), expected);
                QVERIFY2(
                    error <= 1e-5,
                    qPrintable(
                        QString("%1: rel error %2").arg(QString::fromStdString(name)).arg(error)));
            }
            // The Megatron patterns: one all-reduce per split block, nothing gathered.
            int allReduces = 0, allGathers = 0;
            for (const TimelineEvent &event : result->metrics.timeline) {
                allReduces += event.kind == "all-reduce";
                allGathers += event.kind == "all-gather";
            }
            QCOMPARE(allReduces, 6 * perBlock);
            QCOMPARE(allGathers, 0);
        }
    }

    void mpiRanksMatchSingleDevice_data()
    {
        QTest::addColumn<QString>("blocks");
        QTest::addColumn<int>("parts");
        for (const char *blocks : {"mlp", "attn"})
            for (int parts : {2, 4})
                QTest::newRow(QString("%1 %2-way").arg(blocks).arg(parts).toUtf8().constData())
                    << QString(blocks) << parts;
        QTest::newRow("both 4-way") << "both" << 4;
    }
    void mpiRanksMatchSingleDevice()
    {
        // One rank per device of the group (shardbench-cli run --launcher
        // mpi, loopback); the shards' collectives go through Open MPI.
#ifndef SB_TEST_MPI
        QSKIP("built without MPI");
#endif
        QFETCH(QString, blocks);
        QFETCH(int, parts);
        QVERIFY(m_dir.isValid());
        plan::Plan plan = decoderPlan(*m_graph, parts);
        plan.tensorParallel = decoderSplits(blocks.toStdString(), parts);
        auto sha = sha256File(kDecoder);
        QVERIFY(sha.ok());
        plan.modelSha256 = *sha;
        const QString tag = blocks + QString::number(parts);
        const QString planPath = m_dir.filePath(tag + ".plan.json");
        QVERIFY(plan::writePlanFile(plan, planPath.toStdString()).ok());
        const QString input = m_dir.filePath("ids.npy");
        QVERIFY(writeNpy(input.toStdString(), m_inputs.at("input_ids")).ok());
        QProcess cli;
        cli.start(SB_CLI_PATH,
                  {"run", kDecoder, "--input", "input_ids=" + input, "--plan", planPath,
                   "--launcher", "mpi", "--hosts", "localhost:" + QString::number(parts),
                   "--output-dir", m_dir.filePath(tag), "--json"});
        QVERIFY(cli.waitForFinished(180000));
        const QString err = QString::fromUtf8(cli.readAllStandardError());
        QVERIFY2(cli.exitCode() == 0, qPrintable(err));
        const auto doc = nlohmann::json::parse(cli.readAllStandardOutput().toStdString());
        QCOMPARE(doc["launcher"], "mpi");
        QCOMPARE(doc["stages"].size(), std::size_t(1)); // one tensor-parallel stage
        for (int r = 0; r < parts; ++r)                 // every shard ran in its own rank
            QVERIFY2(err.contains(QString("[rank %1 ").arg(r)), qPrintable(err));
        for (const auto &[name, expected] : m_reference) {
            auto actual = readNpy(
                m_dir.filePath(tag + "/" + QString::fromStdString(name) + ".npy").toStdString());
            QVERIFY2(actual.ok(), actual.ok() ? "" : actual.error().message.c_str());
            const double error = relativeError(*actual, expected);
            qInfo("%s over %d ranks: max rel err %.3g", qPrintable(tag), parts, error);
            QVERIFY(error <= 1e-5);
        }
    }

    void blockLargerThanEveryDeviceIsSplitByThePlanner()
    {
        auto graph = wideMlp();
        const plan::DeviceSet devices = smallDevices(4, 400 * 1024);
        TensorMap inputs;
        std::vector<float> x(4 * 64);
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = std::sin(0.37f * static_cast<float>(i));
        inputs["x"] = Tensor::fromVector(graph::ElementType::Float32, {4, 64}, x);
        CpuDevice big("cpu:ref", 1, 0, kernels::defaultRegistry());
        auto single = Executor::create(graph, big);
        QVERIFY(single.ok());
        auto expected = (*single)->run(inputs);
        QVERIFY(expected.ok());

        // A pure pipeline plan is refused: no device holds fc1's weight.
        plan::Plan pipeline;
        pipeline.batch = 4;
        pipeline.devices = devices;
        for (const graph::Node &node : graph->nodes())
            pipeline.assignment[node.name] =
                node.name.find("fc2") != std::string::npos || node.name == "/Add" ? "cpu:1"
                                                                                  : "cpu:0";
        auto refused = plan::validatePlan(*graph, pipeline, {});
        QVERIFY(!refused.ok());
        bool overCapacity = false;
        for (const plan::Problem &problem : refused.problems)
            overCapacity = overCapacity || problem.code == "memory_over_capacity";
        QVERIFY(overCapacity);
        plan::PlannerOptions options;
        options.batch = 4;
        options.tensorParallel = false;
        auto pipelineOnly = plan::autoPlan(*graph, devices, options);
        QVERIFY(!pipelineOnly.ok());
        QVERIFY2(QString::fromStdString(pipelineOnly.error().message).contains("no feasible"),
                 pipelineOnly.error().message.c_str());

        // The auto planner splits the block across a group of devices.
        options.tensorParallel = true;
        auto planned = plan::autoPlan(*graph, devices, options);
        QVERIFY2(planned.ok(), planned.ok() ? "" : planned.error().message.c_str());
        const plan::Plan &plan = planned->plan;
        QVERIFY(plan.tensorParallel.is_array() && !plan.tensorParallel.empty());
        qInfo("planned: %s", plan.tensorParallel.dump().c_str());
        auto report = plan::validatePlan(*graph, plan, {});
        for (const plan::Problem &problem : report.problems)
            qWarning("%s: %s", problem.code.c_str(), problem.message.c_str());
        QVERIFY(report.ok());
        for (const plan::DeviceLedger &ledger : report.estimate->ledger) {
            QVERIFY(ledger.total() <= ledger.capacity);
            QVERIFY(ledger.weights < 512 * 1024); // every shard holds a slice of each weight
        }
        // And it runs, giving the single-device outputs.
        auto local = plan::openLocalPipeline(graph, plan, kernels::defaultRegistry());
        QVERIFY2(local.ok(), local.ok() ? "" : local.error().message.c_str());
        auto result = (*local)->runner->run(inputs, {});
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        const double error = relativeError(result->outputs.at("y"), expected->outputs.at("y"));
        qInfo("capacity fixture: max rel err %.3g", error);
        QVERIFY(error <= 1e-5);
    }

    void shardGraphsHoldTheirSlice()
    {
        plan::Plan plan = decoderPlan(*m_graph, 2);
        plan.tensorParallel = decoderSplits("both", 2);
        auto groups = plan::tensorParallelGroups(*m_graph, plan, nullptr);
        QCOMPARE(groups.size(), std::size_t(1));
        std::vector<graph::NodeId> all;
        for (std::size_t n = 0; n < m_graph->nodes().size(); ++n)
            all.push_back(static_cast<graph::NodeId>(n));
        auto sharded = plan::shardStage(*m_graph, all, groups[0]);
        QVERIFY(sharded.ok());
        QCOMPARE(sharded->shards.size(), std::size_t(2));
        // 6 x (qkv 256x768 + proj 256x256 + mlp 2 x 256x1024) weights + biases halved.
        const std::uint64_t splitBytes =
            6 * 4 * (256 * 768 + 768 + 256 * 256 + 2 * 256 * 1024 + 1024);
        QCOMPARE(sharded->shards[0].weightBytes, m_graph->parameterBytes() - splitBytes / 2);
        QCOMPARE(sharded->shards[1].weightBytes, sharded->shards[0].weightBytes);
        QCOMPARE(sharded->shardWeightBytes, sharded->shards[0].weightBytes);
    }

    void badEntriesAreNamed_data()
    {
        QTest::addColumn<QString>("entries");
        QTest::addColumn<QString>("message");
        QTest::addColumn<QString>("node");
        QTest::newRow("not divisible")
            << R"([{"nodes":["/blocks.0/mlp/mlp.0/MatMul"],"devices":["cpu:0","cpu:1","cpu:2"],"mode":"column"}])"
            << "does not divide by the group size 3"
            << "/blocks.0/mlp/mlp.0/MatMul";
        QTest::newRow("heads not divisible")
            << R"([{"nodes":["/blocks.0/attn/qkv/MatMul"],"devices":["cpu:0","cpu:1","cpu:2"],"mode":"column"}])"
            << "does not divide by the group size 3"
            << "/blocks.0/attn/qkv/MatMul";
        QTest::newRow("device twice")
            << R"([{"nodes":["/blocks.0/mlp/mlp.0/MatMul"],"devices":["cpu:0","cpu:0"],"mode":"column"}])"
            << "listed twice"
            << "/blocks.0/mlp/mlp.0/MatMul";
        QTest::newRow("unknown device")
            << R"([{"nodes":["/blocks.0/mlp/mlp.0/MatMul"],"devices":["cpu:0","cpu:9"],"mode":"column"}])"
            << "cpu:9 is not in the plan's devices"
            << "/blocks.0/mlp/mlp.0/MatMul";
        QTest::newRow("not a matmul")
            << R"([{"nodes":["/blocks.0/ln1/LayerNormalization"],"devices":["cpu:0","cpu:1"],"mode":"column"}])"
            << "only MatMul and Gemm"
            << "/blocks.0/ln1/LayerNormalization";
        QTest::newRow("assigned elsewhere")
            << R"([{"nodes":["/blocks.0/mlp/mlp.0/MatMul"],"devices":["cpu:1","cpu:2"],"mode":"column"}])"
            << "not in its group"
            << "/blocks.0/mlp/mlp.0/MatMul";
        QTest::newRow("bad mode")
            << R"([{"nodes":["/blocks.0/mlp/mlp.0/MatMul"],"devices":["cpu:0","cpu:1"],"mode":"diagonal"}])"
            << "\"mode\" must be"
            << "";
        QTest::newRow("unknown node")
            << R"([{"nodes":["/nope/MatMul"],"devices":["cpu:0","cpu:1"],"mode":"row"}])"
            << "is not in the model"
            << "/nope/MatMul";
    }
    void badEntriesAreNamed()
    {
        QFETCH(QString, entries);
        QFETCH(QString, message);
        QFETCH(QString, node);
        plan::Plan plan = decoderPlan(*m_graph, 3);
        plan.tensorParallel = nlohmann::json::parse(entries.toStdString());
        const plan::ValidationReport report = plan::validatePlan(*m_graph, plan, {});
        QVERIFY(!report.ok());
        bool found = false;
        for (const plan::Problem &problem : report.problems) {
            if (problem.code != "tensor_parallel_invalid" ||
                problem.message.find(message.toStdString()) == std::string::npos)
                continue;
            found = node.isEmpty() || problem.message.find(node.toStdString()) != std::string::npos;
        }
        QVERIFY2(found, qPrintable(message));
        // Running refuses the same plan.
        auto pipeline = plan::openLocalPipeline(m_graph, plan, kernels::defaultRegistry());
        QVERIFY(!pipeline.ok());
    }

    void planKeepsTensorParallelOnRoundTrip()
    {
        plan::Plan plan = decoderPlan(*m_graph, 2);
        plan.tensorParallel = decoderSplits("mlp", 2);
        const std::string text = plan::planToJson(plan).dump();
        auto back = plan::parsePlan(text, "plan.json");
        QVERIFY(back.ok());
        QCOMPARE(back->tensorParallel, plan.tensorParallel);
        auto entries = plan::parseTensorParallel(back->tensorParallel, "plan.json");
        QVERIFY(entries.ok());
        QCOMPARE(entries->size(), std::size_t(12));
        QCOMPARE(plan::tensorParallelToJson(*entries), plan.tensorParallel);
    }
};

QTEST_GUILESS_MAIN(TestTensorParallel)
#include "test_tensor_parallel.moc"
