// Planner passes, plan files and validation on tiny hand-built graphs.
#include "test_graphs.h"

#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"
#include "core/plan/devices.h"
#include "core/plan/plan_file.h"
#include "core/plan/planner.h"
#include "core/plan/sample_dims.h"
#include "core/plan/validate.h"
#include "core/runtime/npy.h"

#include <QtTest/QtTest>

#include <algorithm>
#include <chrono>
#include <random>

using namespace sb;
using namespace sb::plan;

namespace {

DeviceSet makeDevices(const std::vector<double> &rates, std::uint64_t memory = 1ull << 40)
{
    DeviceSet set;
    for (std::size_t i = 0; i < rates.size(); ++i) {
        DeviceSpec device;
        device.id = "dev:" + std::to_string(i);
        device.kind = "cpu";
        device.memoryBytes = memory;
        device.flops = rates[i];
        device.memoryBandwidth = 10e9;
        set.devices.push_back(device);
    }
    set.defaultLink = LinkSpec{"", "", "test", 1e9, 1e-5};
    return set;
}

// A random planner input: U units, D devices, random costs, caps and pins.
PlannerInput randomInput(std::mt19937 &random, std::size_t units, std::size_t devices,
                         bool withPins, bool tightMemory, bool streamed = false)
{
    std::uniform_real_distribution<double> flops(1e6, 1e8), bytes(1e3, 1e6), rate(1e9, 8e9),
        bandwidth(1e9, 2e10), link(1e8, 1e10);
    std::uniform_int_distribution<std::uint64_t> size(1000, 100000);
    PlannerInput input;
    for (std::size_t d = 0; d < devices; ++d)
        input.devices.push_back(PlannerInput::Device{"d" + std::to_string(d), rate(random),
                                                     bandwidth(random),
                                                     tightMemory ? 250000 : 1ull << 40});
    input.linkBandwidth.assign(devices, std::vector<double>(devices, 0));
    input.linkLatency.assign(devices, std::vector<double>(devices, 0));
    for (std::size_t a = 0; a < devices; ++a)
        for (std::size_t b = 0; b < devices; ++b) {
            input.linkBandwidth[a][b] = link(random);
            input.linkLatency[a][b] = 1e-6 * static_cast<double>(random() % 50);
        }
    for (std::size_t u = 0; u < units; ++u) {
        input.flops.push_back(flops(random));
        input.bytes.push_back(bytes(random));
        input.weights.push_back(size(random));
        input.peakLive.push_back(size(random) / 4);
        input.workspace.push_back(random() % 3 == 0 ? size(random) / 8 : 0);
        input.pin.push_back(-1);
    }
    if (withPins) {
        // Pins that respect the device order (a later unit never pinned earlier).
        int lastPin = 0;
        for (std::size_t u = 0; u < units; ++u)
            if (random() % 4 == 0) {
                lastPin = lastPin + static_cast<int>(random() % 2);
                if (lastPin >= static_cast<int>(devices))
                    lastPin = static_cast<int>(devices) - 1;
                input.pin[u] = lastPin;
            }
    }
    input.cut.assign(units + 1, 0);
    for (std::size_t x = 1; x < units; ++x)
        input.cut[x] = size(random);
    if (streamed) {
        // Weights read per run, and a cost per byte that steps up as a
        // stage's set outgrows "caches" of 150 and 300 kB.
        for (std::size_t u = 0; u < units; ++u)
            input.streamBytes.push_back(static_cast<double>(size(random)));
        input.streamSecondsPerByte = [](double set) {
            return set <= 150e3 ? 0.0 : set <= 300e3 ? 1e-9 : 4e-9;
        };
    }
    input.finalize();
    return input;
}

// Independent O(N^2) count of the bytes crossing each unit boundary.
std::vector<std::uint64_t> naiveCuts(const graph::Graph &graph, const ModelFacts &facts,
                                     const std::vector<PlanningUnit> &units)
{
    std::vector<std::size_t> unitOf(graph.nodes().size());
    for (std::size_t u = 0; u < units.size(); ++u)
        for (graph::NodeId n = units[u].firstNode; n < units[u].endNode; ++n)
            unitOf[static_cast<std::size_t>(n)] = u;
    std::vector<std::uint64_t> cuts(units.size() + 1, 0);
    for (std::size_t x = 1; x < units.size(); ++x)
        for (std::size_t v = 0; v < graph.values().size(); ++v) {
            const auto &value = graph.values()[v];
            if (value.initializer || value.producer == graph::kNoNode)
                continue;
            if (unitOf[static_cast<std::size_t>(value.producer)] >= x)
                continue;
            bool readLater = false;
            for (std::size_t n = 0; n < graph.nodes().size(); ++n)
                for (graph::ValueId in : graph.nodes()[n].inputs)
                    if (in == static_cast<graph::ValueId>(v) && unitOf[n] >= x)
                        readLater = true;
            if (readLater)
                cuts[x] += facts.valueBytes[v];
        }
    return cuts;
}

bool hasProblem(const ValidationReport &report, const std::string &code, const std::string &node)
{
    for (const Problem &problem : report.problems)
        if (problem.code == code &&
            (node.empty() ||
             std::find(problem.nodes.begin(), problem.nodes.end(), node) != problem.nodes.end()))
            return true;
    return false;
}

Plan planAllOn(const graph::Graph &graph, const DeviceSet &devices, const std::string &device)
{
    Plan plan;
    plan.devices = devices;
    plan.batch = 4;
    plan.microbatches = 2;
    for (const auto &node : graph.nodes())
        plan.assignment[node.name] = device;
    return plan;
}

} // namespace

class TestPlan : public QObject
{
    Q_OBJECT

private slots:
    void pass1_unitsFollowBlocksAndPins()
    {
        auto graph = sbtest::makeResidualChain(4, 8, 1);
        std::vector<int> pins(graph->nodes().size(), -1);
        auto units = collapseUnits(*graph, pins);
        QCOMPARE(units.size(), std::size_t(4));
        for (std::size_t u = 0; u < units.size(); ++u) {
            QCOMPARE(units[u].firstNode, static_cast<graph::NodeId>(3 * u));
            QCOMPARE(units[u].endNode, static_cast<graph::NodeId>(3 * u + 3));
        }
        // Pinning the middle node of block 1 splits that block into three units.
        pins[4] = 1;
        units = collapseUnits(*graph, pins);
        QCOMPARE(units.size(), std::size_t(6));
        QCOMPARE(units[2].firstNode, 4);
        QCOMPARE(units[2].pinnedDevice, 1);
        QCOMPARE(units[1].pinnedDevice, -1);
    }

    void pass2_cutsMatchNaiveCount_data()
    {
        QTest::addColumn<int>("seed");
        QTest::addColumn<int>("maxSkip");
        for (int seed = 1; seed <= 6; ++seed)
            QTest::addRow("seed%d", seed) << seed << (seed % 3);
    }
    void pass2_cutsMatchNaiveCount()
    {
        QFETCH(int, seed);
        QFETCH(int, maxSkip);
        auto graph = sbtest::makeResidualChain(8, 16, static_cast<std::uint32_t>(seed), maxSkip);
        auto facts = analyseModel(*graph, 2);
        QVERIFY2(facts.ok(), facts.ok() ? "" : facts.error().message.c_str());
        // Every activation is [2, 16] float32 = 128 bytes at micro-batch 2.
        QCOMPARE(facts->valueBytes[static_cast<std::size_t>(*graph->findValue("/blocks.0/mm"))],
                 std::uint64_t(128));
        auto units = collapseUnits(*graph, std::vector<int>(graph->nodes().size(), -1));
        auto input = buildPlannerInput(*graph, *facts, makeDevices({1e9, 2e9}), units);
        auto expected = naiveCuts(*graph, *facts, units);
        QCOMPARE(input.cut.size(), expected.size());
        for (std::size_t x = 0; x < expected.size(); ++x)
            QCOMPARE(input.cut[x], expected[x]);
        // Weights: one 16x16 float32 matrix per block.
        for (std::uint64_t weights : input.weights)
            QCOMPARE(weights, std::uint64_t(16 * 16 * 4));
    }

    void pass3_dpEqualsBruteForce_data()
    {
        QTest::addColumn<int>("seed");
        QTest::addColumn<int>("units");
        QTest::addColumn<int>("devices");
        QTest::addColumn<bool>("pins");
        QTest::addColumn<bool>("tight");
        QTest::addColumn<bool>("streamed");
        for (int seed = 1; seed <= 40; ++seed)
            QTest::addRow("seed%d", seed) << seed << 2 + seed % 6 << 1 + seed % 4 << (seed % 3 == 0)
                                          << (seed % 5 == 0) << (seed % 2 == 0);
    }
    void pass3_dpEqualsBruteForce()
    {
        QFETCH(int, seed);
        QFETCH(int, units);
        QFETCH(int, devices);
        QFETCH(bool, pins);
        QFETCH(bool, tight);
        QFETCH(bool, streamed);
        std::mt19937 random(static_cast<std::uint32_t>(seed));
        PlannerInput input = randomInput(random, static_cast<std::size_t>(units),
                                         static_cast<std::size_t>(devices), pins, tight, streamed);
        for (Objective objective : {Objective::Throughput, Objective::Latency}) {
            auto dp = solveSplit(input, objective);
            auto brute = bruteForceSplit(input, objective);
            QCOMPARE(dp.ok(), brute.ok());
            if (!dp.ok())
                continue;
            QVERIFY2(std::abs(dp->objectiveValue - brute->objectiveValue) <=
                         1e-9 * brute->objectiveValue,
                     qPrintable(QString("%1: dp %2 brute %3")
                                    .arg(objectiveName(objective))
                                    .arg(dp->objectiveValue)
                                    .arg(brute->objectiveValue)));
            // The DP's split really has the value it claims and respects every rule.
            double value = 0;
            int previous = -1;
            std::size_t next = 0;
            for (const SplitStage &stage : dp->stages) {
                QCOMPARE(stage.beginUnit, next);
                QVERIFY(stage.device > previous);
                QVERIFY(segmentAllowed(input, stage.device, stage.beginUnit, stage.endUnit));
                double time =
                    segmentComputeSeconds(input, stage.device, stage.beginUnit, stage.endUnit) +
                    segmentTransferSeconds(input, previous, stage.device, stage.beginUnit);
                value = objective == Objective::Throughput ? std::max(value, time) : value + time;
                previous = stage.device;
                next = stage.endUnit;
            }
            QCOMPARE(next, input.unitCount());
            QVERIFY(std::abs(value - dp->objectiveValue) <= 1e-9 * value);
            // Pass 4: the bound never exceeds the optimum.
            QVERIFY(lowerBound(input, objective) <= dp->objectiveValue * (1 + 1e-12));
        }
    }

    // A stage's weights beyond the cache: priced by the stage's whole set,
    // so the cut that keeps both sets small wins over the one that
    // balances the nodes' own times (values by hand).
    void pass2_streamedWeightsPriceTheStage()
    {
        PlannerInput input;
        for (int d = 0; d < 2; ++d)
            input.devices.push_back(
                PlannerInput::Device{"d" + std::to_string(d), 1, 1, 1ull << 40});
        input.linkBandwidth.assign(2, std::vector<double>(2, 1e30));
        input.linkLatency.assign(2, std::vector<double>(2, 0));
        input.flops = {1, 1, 1, 3}; // seconds at 1 FLOP/s
        input.bytes = {0, 0, 0, 0};
        input.weights = {0, 0, 0, 0};
        input.peakLive = {0, 0, 0, 0};
        input.workspace = {0, 0, 0, 0};
        input.pin = {-1, -1, -1, -1};
        input.cut.assign(5, 0);
        input.finalize();
        // Without it: [0, 3) | [3, 4), 3 s each.
        auto plain = solveSplit(input, Objective::Throughput);
        QVERIFY(plain.ok());
        QCOMPARE(plain->stages.size(), std::size_t(2));
        QCOMPARE(plain->stages[0].endUnit, std::size_t(3));
        QCOMPARE(plain->objectiveValue, 3.0);
        // Units 0-2 read 2 bytes of weights each; a set over 4 bytes costs
        // 1 s per byte: [0, 3) would take 3 + 6 s, [0, 2) takes 2 s (a set
        // of 4) and [2, 4) 1 + 3 s (a set of 2).
        input.streamBytes = {2, 2, 2, 0};
        input.streamSecondsPerByte = [](double set) { return set > 4 ? 1.0 : 0.0; };
        input.finalize();
        QCOMPARE(segmentComputeSeconds(input, 0, 0, 3), 9.0);
        QCOMPARE(segmentComputeSeconds(input, 0, 0, 2), 2.0);
        QCOMPARE(segmentComputeSeconds(input, 1, 2, 4), 4.0);
        auto streamed = solveSplit(input, Objective::Throughput);
        QVERIFY(streamed.ok());
        QCOMPARE(streamed->stages.size(), std::size_t(2));
        QCOMPARE(streamed->stages[0].endUnit, std::size_t(2));
        QCOMPARE(streamed->objectiveValue, 4.0);
    }

    void pass3_randomGraphsEqualBruteForce_data()
    {
        QTest::addColumn<int>("seed");
        QTest::addColumn<QString>("mix");
        const char *mixes[] = {"1,1", "1,2,4", "4,1", "2,2,1,3"};
        for (int seed = 1; seed <= 12; ++seed)
            QTest::addRow("seed%d", seed) << seed << QString(mixes[seed % 4]);
    }
    void pass3_randomGraphsEqualBruteForce()
    {
        QFETCH(int, seed);
        QFETCH(QString, mix);
        std::vector<double> rates;
        for (const QString &part : mix.split(','))
            rates.push_back(part.toDouble() * 1e9);
        auto graph = sbtest::makeResidualChain(3 + seed % 4, 32, static_cast<std::uint32_t>(seed));
        auto facts = analyseModel(*graph, 4);
        QVERIFY(facts.ok());
        DeviceSet devices = makeDevices(rates);
        auto units = collapseUnits(*graph, std::vector<int>(graph->nodes().size(), -1));
        auto input = buildPlannerInput(*graph, *facts, devices, units);
        for (Objective objective : {Objective::Throughput, Objective::Latency}) {
            auto dp = solveSplit(input, objective);
            auto brute = bruteForceSplit(input, objective);
            QVERIFY(dp.ok() && brute.ok());
            QVERIFY(std::abs(dp->objectiveValue - brute->objectiveValue) <=
                    1e-9 * brute->objectiveValue);
        }
    }

    void pass3_memoryCapsAndInfeasible()
    {
        auto graph = sbtest::makeResidualChain(6, 64, 3);
        auto facts = analyseModel(*graph, 1);
        QVERIFY(facts.ok());
        auto units = collapseUnits(*graph, std::vector<int>(graph->nodes().size(), -1));
        // Each block has 16 KiB of weights: two devices of 64 KiB cannot hold six blocks
        // on one device, so the planner must split.
        DeviceSet devices = makeDevices({1e9, 1e9}, 64 * 1024);
        auto input = buildPlannerInput(*graph, *facts, devices, units);
        auto split = solveSplit(input, Objective::Latency);
        QVERIFY2(split.ok(), split.ok() ? "" : split.error().message.c_str());
        QCOMPARE(split->stages.size(), std::size_t(2));
        for (const SplitStage &stage : split->stages)
            QVERIFY(stage.memoryBytes <= 64 * 1024);
        // Too small for even one block: a clear error.
        DeviceSet tiny = makeDevices({1e9, 1e9}, 1024);
        auto impossible =
            solveSplit(buildPlannerInput(*graph, *facts, tiny, units), Objective::Throughput);
        QVERIFY(!impossible.ok());
        QVERIFY(QString::fromStdString(impossible.error().message).contains("no feasible plan"));
    }

    void pass5_autoPlanKeepsPins()
    {
        auto graph = sbtest::makeResidualChain(6, 32, 5);
        DeviceSet devices = makeDevices({1e9, 1e9, 1e9});
        PlannerOptions options;
        options.batch = 4;
        options.microbatches = 2;
        // dev:2 is the fastest choice for nothing in particular; pin a node in
        // the first block to the last device: everything before it must follow.
        options.pins = {{"/blocks.1/Relu", "dev:2"}, {"/blocks.0/MatMul", "dev:0"}};
        auto result = autoPlan(*graph, devices, options);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        QCOMPARE(result->plan.assignment.at("/blocks.1/Relu"), std::string("dev:2"));
        QCOMPARE(result->plan.assignment.at("/blocks.0/MatMul"), std::string("dev:0"));
        QCOMPARE(result->plan.assignment.size(), graph->nodes().size());
        QCOMPARE(result->plan.pinned.size(), std::size_t(2));
        QVERIFY(result->lowerBound <= result->objectiveValue);
        auto report = validatePlan(*graph, result->plan, {});
        QVERIFY(report.ok());

        // Pins against the device order are infeasible, and say why.
        options.pins = {{"/blocks.0/MatMul", "dev:2"}, {"/blocks.4/Add", "dev:0"}};
        auto bad = autoPlan(*graph, devices, options);
        QVERIFY(!bad.ok());
        QVERIFY(QString::fromStdString(bad.error().message).contains("device order"));
        options.pins = {{"/nope", "dev:0"}};
        bad = autoPlan(*graph, devices, options);
        QVERIFY(!bad.ok());
        QVERIFY(QString::fromStdString(bad.error().message).contains("/nope"));
    }

    void plannedPlansAlwaysFitTheLedger_data()
    {
        QTest::addColumn<int>("seed");
        for (int seed = 1; seed <= 10; ++seed)
            QTest::addRow("seed%d", seed) << seed;
    }
    void plannedPlansAlwaysFitTheLedger()
    {
        QFETCH(int, seed);
        auto graph = sbtest::makeResidualChain(10, 48, static_cast<std::uint32_t>(seed), 3);
        // Caps from 30 KiB to 120 KiB: sometimes forced to split, sometimes infeasible.
        DeviceSet devices =
            makeDevices({1e9, 3e9, 2e9}, static_cast<std::uint64_t>(30 + 9 * seed) * 1024);
        PlannerOptions options;
        options.batch = 2;
        options.objective = seed % 2 ? Objective::Throughput : Objective::Latency;
        auto result = autoPlan(*graph, devices, options);
        if (!result.ok())
            return; // infeasible is fine; a plan that does not fit is not
        auto report = validatePlan(*graph, result->plan, {});
        QVERIFY2(report.ok(),
                 report.problems.empty() ? "" : report.problems.front().message.c_str());
    }

    void planner_10kNodesIsFast()
    {
        // Smoke test only (the timed figure lives in bench/planner_bench).
        auto graph = sbtest::makeResidualChain(3334, 64, 9);
        QVERIFY(graph->nodes().size() >= 10000);
        PlannerOptions options;
        options.batch = 8;
        auto result =
            autoPlan(*graph, makeDevices({1e9, 1e9, 2e9, 2e9, 1e9, 1e9, 3e9, 1e9}), options);
        QVERIFY(result.ok());
        QCOMPARE(result->plan.assignment.size(), graph->nodes().size());
    }

    void sampleInputBindsTheModelsDims()
    {
        // The demo decoder ships decoder_input.npy ([batch, seq] = [8, 64]):
        // seq is bound from it, the batch symbol is left to the plan.
        const std::filesystem::path decoder =
            std::filesystem::path(SB_SOURCE_DIR) / "resources/demo/decoder.onnx";
        auto graph = graph::importOnnxFile(decoder);
        QVERIFY(graph.ok());
        auto sample = dimsFromSampleInput(**graph, decoder);
        QVERIFY2(sample.ok(), sample.ok() ? "" : sample.error().message.c_str());
        QCOMPARE(sample->files.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(sample->files[0].filename().string()),
                 QString("decoder_input.npy"));
        QCOMPARE(sample->dims, (std::map<std::string, std::int64_t>{{"seq", 64}}));

        // A copy of the model without a sample: nothing bound, no error.
        QTemporaryDir dir;
        const std::filesystem::path lone = dir.filePath("lone.onnx").toStdString();
        std::filesystem::copy_file(decoder, lone);
        auto none = dimsFromSampleInput(**graph, lone);
        QVERIFY(none.ok() && none->dims.empty() && none->files.empty());

        // A sample of the wrong rank: an error naming the file and the input.
        const runtime::Tensor flat = runtime::Tensor::zeros(graph::ElementType::Int64, {5});
        QVERIFY(runtime::writeNpy(dir.filePath("lone_input.npy").toStdString(), flat).ok());
        auto bad = dimsFromSampleInput(**graph, lone);
        QVERIFY(!bad.ok());
        QVERIFY2(bad.error().message.find("lone_input.npy") != std::string::npos &&
                     bad.error().message.find("rank 2, the sample rank 1") != std::string::npos,
                 bad.error().message.c_str());

        // Shapes straight from a caller: the batch dim (8) is not a dim to bind.
        auto fromShapes = dimsFromSampleShapes(**graph, {{8, 32}});
        QVERIFY(fromShapes.ok());
        QCOMPARE(*fromShapes, (std::map<std::string, std::int64_t>{{"seq", 32}}));
    }

    void planFile_roundTripKeepsUnknownKeys()
    {
        auto graph = sbtest::makeResidualChain(2, 8, 1);
        Plan plan = planAllOn(*graph, makeDevices({1e9}), "dev:0");
        plan.modelSha256 = "abc";
        plan.extra["x_future_annotation"] = {{"k", 1}};
        auto parsed = parsePlan(planToJson(plan).dump(), "mem.json");
        QVERIFY(parsed.ok());
        QCOMPARE(parsed->assignment, plan.assignment);
        QCOMPARE(parsed->extra["x_future_annotation"]["k"].get<int>(), 1);
        QCOMPARE(parsed->devices.devices.front().flops, 1e9);
    }

    void planFile_badInputNamesTheKey_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        const QString base = R"({"version":1,"model_sha256":"x","batch":2,"microbatches":1,)"
                             R"("devices":[{"id":"cpu:0","memory_bytes":100}],)";
        QTest::addRow("not json") << "{"
                                  << "not valid JSON";
        QTest::addRow("newer") << R"({"version":2})"
                               << "newer than this reader";
        QTest::addRow("no batch") << R"({"version":1,"model_sha256":"x"})"
                                  << "\"batch\"";
        QTest::addRow("assignment type") << base + R"("assignment":{"n1":3}})"
                                         << "\"assignment\"[\"n1\"]";
        QTest::addRow("device twice")
            << R"({"version":1,"model_sha256":"x","batch":2,"microbatches":1,"devices":[{"id":"a","memory_bytes":1},{"id":"a","memory_bytes":1}],"assignment":{}})"
            << "listed twice";
        QTest::addRow("microbatches")
            << R"({"version":1,"model_sha256":"x","batch":2,"microbatches":0})"
            << "\"microbatches\"";
        QTest::addRow("pinned") << base + R"("assignment":{},"pinned":[1]})"
                                << "\"pinned\"[0]";
    }
    void planFile_badInputNamesTheKey()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        auto parsed = parsePlan(text.toStdString(), "bad.json");
        QVERIFY(!parsed.ok());
        QCOMPARE(parsed.error().code, ErrorCode::InvalidInput);
        QString message = QString::fromStdString(parsed.error().message);
        QVERIFY2(message.contains(expected) && message.startsWith("bad.json"), qPrintable(message));
    }

    void validate_listsEveryProblem()
    {
        auto graph = sbtest::makeResidualChain(4, 16, 2, 0);
        DeviceSet devices = makeDevices({1e9, 1e9});
        devices.devices[0].memoryBytes = 2048; // 3 blocks of 1 KiB weights do not fit
        Plan plan = planAllOn(*graph, devices, "dev:0");
        plan.modelSha256 = "aaaa";
        plan.batch = 5;                             // not divisible by 2 micro-batches
        plan.assignment.erase("/blocks.2/Relu");    // unassigned
        plan.assignment["/blocks.3/Add"] = "gpu:9"; // unknown device
        plan.assignment["/no/such/node"] = "dev:0"; // unknown node
        plan.pinned = {"/missing/pin"};
        plan.tensorParallel = nlohmann::json::array({{{"nodes", {"x"}}}});
        ValidateOptions options;
        options.modelSha256 = "bbbb";
        auto report = validatePlan(*graph, plan, options);
        QVERIFY(!report.ok());
        QVERIFY(hasProblem(report, "unassigned_node", "/blocks.2/Relu"));
        QVERIFY(hasProblem(report, "unknown_device", "/blocks.3/Add"));
        QVERIFY(hasProblem(report, "unknown_node", "/no/such/node"));
        QVERIFY(hasProblem(report, "unknown_pinned_node", "/missing/pin"));
        QVERIFY(hasProblem(report, "model_hash_mismatch", ""));
        QVERIFY(hasProblem(report, "batch_not_divisible", ""));
        QVERIFY(hasProblem(report, "tensor_parallel_invalid", ""));
        QVERIFY(hasProblem(report, "memory_over_capacity", "/blocks.0/MatMul"));
        QVERIFY(!report.estimate); // incomplete assignment: no estimate
        // A cycle among the assigned nodes is reported next to unassigned nodes.
        plan.assignment["/blocks.1/Relu"] = "dev:1";
        report = validatePlan(*graph, plan, options);
        QVERIFY(hasProblem(report, "device_cycle", "/blocks.1/Relu"));
        QVERIFY(hasProblem(report, "unassigned_node", "/blocks.2/Relu"));
    }

    void validate_cycleNamesDevicesAndEdges()
    {
        auto graph = sbtest::makeResidualChain(3, 16, 2, 0);
        DeviceSet devices = makeDevices({1e9, 1e9});
        Plan plan = planAllOn(*graph, devices, "dev:0");
        plan.assignment["/blocks.1/Relu"] = "dev:1"; // dev:0 -> dev:1 -> dev:0
        auto report = validatePlan(*graph, plan, {});
        QVERIFY(!report.ok());
        QVERIFY(hasProblem(report, "device_cycle", "/blocks.1/Relu"));
        QVERIFY(hasProblem(report, "device_cycle", "/blocks.1/MatMul"));
        QVERIFY(hasProblem(report, "device_cycle", "/blocks.1/Add"));
        for (const Problem &problem : report.problems)
            if (problem.code == "device_cycle") {
                QCOMPARE(problem.devices.size(), std::size_t(2));
                QVERIFY(QString::fromStdString(problem.message).contains("dev:0 -> dev:1"));
            }
        auto stages = buildStageGraph(*graph, plan);
        QVERIFY(!stages.ok());
    }

    void validate_memoryOverCapacity()
    {
        auto graph = sbtest::makeResidualChain(4, 64, 2);
        DeviceSet devices = makeDevices({1e9, 1e9}, 20 * 1024); // 16 KiB weights per block
        Plan plan = planAllOn(*graph, devices, "dev:0");
        for (const char *name : {"/blocks.3/MatMul", "/blocks.3/Relu", "/blocks.3/Add"})
            plan.assignment[name] = "dev:1";
        auto report = validatePlan(*graph, plan, {});
        QVERIFY(!report.ok());
        QVERIFY(hasProblem(report, "memory_over_capacity", "/blocks.0/MatMul"));
        QVERIFY(!hasProblem(report, "memory_over_capacity", "/blocks.3/MatMul"));
        QVERIFY(report.estimate);
        QCOMPARE(report.estimate->ledger[0].weights, std::uint64_t(3 * 64 * 64 * 4));
        QCOMPARE(report.estimate->ledger[1].weights, std::uint64_t(64 * 64 * 4));
    }

    void validate_cycleStillChecksMemory()
    {
        // A device cycle and memory over capacity at once: both are listed
        // (the contract: every problem, not the first), and the validator
        // with a kept analysis says exactly what the one-step call says.
        auto graph = sbtest::makeResidualChain(3, 64, 2, 0);
        DeviceSet devices = makeDevices({1e9, 1e9}, 20 * 1024); // 16 KiB weights per block
        Plan plan = planAllOn(*graph, devices, "dev:0");
        plan.assignment["/blocks.1/Relu"] = "dev:1";
        auto report = validatePlan(*graph, plan, {});
        QVERIFY(hasProblem(report, "device_cycle", "/blocks.1/Relu"));
        QVERIFY(hasProblem(report, "memory_over_capacity", "/blocks.0/MatMul"));
        QVERIFY(!report.estimate);
        QVERIFY(report.assignedEstimate);
        QCOMPARE(report.assignedEstimate->ledger[0].weights, std::uint64_t(3 * 64 * 64 * 4));
        const PlanAnalysis analysis = analysePlan(*graph, plan);
        QVERIFY(analysis.fits(plan));
        const auto kept = validatePlan(*graph, plan, {}, analysis);
        QCOMPARE(reportToJson(kept).dump(), reportToJson(report).dump());
        // Another micro-batch count does not fit the analysis: re-analysed.
        Plan other = plan;
        other.microbatches = 1;
        QVERIFY(!analysis.fits(other));
        QCOMPARE(reportToJson(validatePlan(*graph, other, {}, analysis)).dump(),
                 reportToJson(validatePlan(*graph, other, {})).dump());
    }

    void validate_residualCrossingTwoStages()
    {
        // Block 2's Add reads block 0's output (skip of 1 block): with blocks
        // 0, 1, 2 on three devices the value goes dev:0 -> dev:2 directly.
        auto graph = sbtest::makeResidualChain(3, 16, 7, 0);
        // Rewire: make /blocks.2/Add read /blocks.0/out instead of /blocks.1/out.
        auto &nodes = graph->mutableNodes();
        nodes[8].inputs[1] = *graph->findValue("/blocks.0/out");
        graph->rebuildIndex();
        DeviceSet devices = makeDevices({1e9, 1e9, 1e9});
        Plan plan = planAllOn(*graph, devices, "dev:0");
        for (int k = 1; k < 3; ++k)
            for (const char *op : {"MatMul", "Relu", "Add"})
                plan.assignment["/blocks." + std::to_string(k) + "/" + op] =
                    "dev:" + std::to_string(k);
        auto stages = buildStageGraph(*graph, plan);
        QVERIFY(stages.ok());
        QCOMPARE(stages->stages.size(), std::size_t(3));
        bool direct = false;
        for (const StageTransfer &transfer : stages->transfers)
            if (graph->value(transfer.value).name == "/blocks.0/out") {
                QCOMPARE(transfer.fromStage, 0);
                QCOMPARE(transfer.toStages, (std::vector<int>{1, 2}));
                direct = true;
            }
        QVERIFY(direct);
        auto report = validatePlan(*graph, plan, {});
        QVERIFY(report.ok());
        QCOMPARE(report.estimate->stages.size(), std::size_t(3));
        QCOMPARE(report.estimate->bubbleFraction, 2.0 / 4.0); // (p-1)/(m+p-1), p=3, m=2
    }

    void validate_bakedBatchFixtureWarns()
    {
        auto graph = graph::importOnnxFile(SB_TESTDATA_DIR "/models/baked_batch.onnx");
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        DeviceSet devices = makeDevices({1e9});
        Plan plan = planAllOn(**graph, devices, "dev:0");
        plan.batch = 2;
        plan.microbatches = 2;
        auto report = validatePlan(**graph, plan, {});
        QVERIFY(report.ok()); // a warning, not an error
        QVERIFY(report.bakedBatch);
        QCOMPARE(report.effectiveMicrobatches, 1);
        QVERIFY(hasProblem(report, "baked_batch", ""));
        // A model with a symbolic batch gives no such warning.
        auto mlp = graph::importOnnxFile(SB_TESTDATA_DIR "/models/mlp.onnx");
        QVERIFY(mlp.ok());
        Plan mlpPlan = planAllOn(**mlp, devices, "dev:0");
        auto mlpReport = validatePlan(**mlp, mlpPlan, {});
        QVERIFY(!mlpReport.bakedBatch);
        QCOMPARE(mlpReport.effectiveMicrobatches, 2);
    }

    void devices_parseListsAndSizes()
    {
        auto catalog = loadCatalog(SB_SOURCE_DIR "/resources/devices.json");
        QVERIFY2(catalog.ok(), catalog.ok() ? "" : catalog.error().message.c_str());
        for (const CatalogDevice &device : catalog->devices) {
            QVERIFY(device.memoryBytes > 0);
            QVERIFY(device.flopsFp32 > 0);
            QVERIFY(!device.source.empty());
        }
        LocalDeviceOptions localOptions;
        localOptions.cpuDevices = 2;
        localOptions.calibrationPath = std::nullopt;
        auto local = discoverLocalDevices(localOptions);
        QVERIFY(local.ok());
        QVERIFY(local->find("cpu:1"));
        auto set = parseDeviceList("catalog:A100-80GB*2,catalog:T4,cpu:0", *local, *catalog);
        QVERIFY2(set.ok(), set.ok() ? "" : set.error().message.c_str());
        QCOMPARE(set->devices.size(), std::size_t(4));
        QCOMPARE(set->devices[1].id, std::string("A100-80GB:1"));
        QCOMPARE(set->link("A100-80GB:0", "A100-80GB:1").name, std::string("nvlink3"));
        QCOMPARE(set->link("A100-80GB:0", "T4:0").name, std::string("pcie3x16"));
        QVERIFY(!parseDeviceList("catalog:Z80", *local, *catalog).ok());
        QVERIFY(!parseDeviceList("cpu:7", *local, *catalog).ok());
        QCOMPARE(*parseByteSize("2GiB"), std::uint64_t(2) << 30);
        QCOMPARE(*parseByteSize("1.5GB"), std::uint64_t(1500000000));
        QVERIFY(!parseByteSize("lots").ok());
        auto cap = parseMemoryCap("cpu:0=512MiB");
        QVERIFY(cap.ok());
        QCOMPARE(cap->second, std::uint64_t(512) << 20);
    }
};

QTEST_GUILESS_MAIN(TestPlan)
#include "test_plan.moc"
