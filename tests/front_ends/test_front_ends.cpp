// The same plan and the same evaluation through the GUI backend (what the
// Runs and Evaluation pages call on their workers) and through the CLI
// (`bench --plan --json`, `eval --json`, run as a process): identical JSON
// for the shared keys. Timing figures differ between two runs, so for them
// the test checks the definition instead: the GUI's figures are the core
// summary (runtime::summarizeRuns) of the iteration and micro-batch times it
// recorded, and both front ends print the same keys from one core writer.
#include "core/common/stats.h"
#include "core/graph/onnx_import.h"
#include "core/plan/plan_file.h"
#include "core/runtime/run_summary.h"
#include "core/store/store.h"
#include "ui/eval/eval_backend.h"
#include "ui/run/run_backend.h"
#include "ui/run/run_record.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

using namespace sb;
using namespace sb::ui;
using nlohmann::json;

namespace {

// Runs shardbench-cli; returns its stdout parsed (discarded JSON on failure).
json runCli(const QStringList &arguments, QString *errors)
{
    QProcess cli;
    cli.start(QStringLiteral(SB_CLI_PATH), arguments);
    if (!cli.waitForFinished(180000)) {
        *errors = QStringLiteral("timed out: ") + arguments.join(' ');
        return json::value_t::discarded;
    }
    *errors = QString::fromUtf8(cli.readAllStandardError());
    if (cli.exitCode() != 0)
        return json::value_t::discarded;
    return json::parse(cli.readAllStandardOutput().toStdString(), nullptr, false);
}

std::set<std::string> keysOf(const json &object)
{
    std::set<std::string> keys;
    for (auto it = object.begin(); it != object.end(); ++it)
        keys.insert(it.key());
    return keys;
}

// Keys of `a` also in `b`, recursively, with the values of those not in
// `timing` equal; returns a description of the first difference.
QString compareShared(const json &a, const json &b, const std::set<std::string> &timing,
                      const std::string &path = "")
{
    if (a.is_object() && b.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it) {
            if (!b.contains(it.key()))
                return QString::fromStdString(path + "/" + it.key() + " missing from the CLI's");
            if (timing.count(it.key()))
                continue;
            const QString diff = compareShared(*it, b[it.key()], timing, path + "/" + it.key());
            if (!diff.isEmpty())
                return diff;
        }
        return {};
    }
    if (a.is_array() && b.is_array()) {
        if (a.size() != b.size())
            return QString::fromStdString(path + ": " + std::to_string(a.size()) + " vs " +
                                          std::to_string(b.size()) + " entries");
        for (std::size_t i = 0; i < a.size(); ++i) {
            const QString diff = compareShared(a[i], b[i], timing, path + "/" + std::to_string(i));
            if (!diff.isEmpty())
                return diff;
        }
        return {};
    }
    return a == b ? QString() : QString::fromStdString(path + ": " + a.dump() + " vs " + b.dump());
}

} // namespace

class TestFrontEnds : public QObject
{
    Q_OBJECT
private slots:
    void samePlanSameJson();
    void sameEvaluationSameJson_data();
    void sameEvaluationSameJson();
};

void TestFrontEnds::samePlanSameJson()
{
    QTemporaryDir dir;
    const QString model = QStringLiteral(SB_TESTDATA_DIR "/models/mlp.onnx");
    const QString input = QStringLiteral(SB_TESTDATA_DIR "/models/mlp.in0.npy");
    const QString planPath = dir.filePath("mlp.plan.json");
    QString errors;
    // A two-stage plan made by the CLI's planner.
    QProcess planner;
    planner.start(QStringLiteral(SB_CLI_PATH),
                  {"plan", model, "--devices", "cpu:0,cpu:1", "--cpu-devices", "2", "--batch", "2",
                   "--microbatches", "2", "--out", planPath}); // mlp.in0.npy holds 2 rows
    QVERIFY(planner.waitForFinished(120000));
    QVERIFY2(planner.exitCode() == 0, planner.readAllStandardError().constData());
    auto plan = plan::readPlanFile(planPath.toStdString());
    QVERIFY(plan.ok());
    auto graph = graph::importOnnxFile(model.toStdString());
    QVERIFY(graph.ok());
    const std::string inputName = (*graph)->value((*graph)->inputs().front()).name;

    // The GUI's run backend.
    RunRequest request;
    request.graph = *graph;
    request.plan = *plan;
    request.modelPath = model;
    request.config.inputs = RunConfig::Inputs::Npy;
    request.config.inputPath = input;
    request.config.batch = int(plan->batch);
    request.config.microbatches = plan->microbatches;
    request.config.iterations = 4;
    CancelToken cancel;
    auto gui = runPipeline(request, {}, cancel, {});
    QVERIFY2(gui.ok(), gui.ok() ? "" : gui.error().message.c_str());
    const json &guiJson = gui->runJson;
    QVERIFY(guiJson.is_object());

    // The CLI, same model, plan, input and number of timed iterations.
    // --db: the CLI stores the run with core's one run-record writer.
    const QString database = dir.filePath("runs.db");
    const json cli = runCli({"bench", model, "--plan", planPath, "--input",
                             QString::fromStdString(inputName) + "=" + input, "--iters", "4",
                             "--warmup", "0", "--json", "--db", database},
                            &errors);
    QVERIFY2(!cli.is_discarded(), qPrintable(errors));

    // Same keys (the CLI's bench adds median_ms, p90_ms, min_ms, iters, batch
    // and peak_memory_bytes), same non-timing values.
    const std::set<std::string> guiKeys = keysOf(guiJson);
    for (const char *key :
         {"stages", "links", "launcher", "bubble_fraction", "ideal_bubble_fraction", "microbatches",
          "throughput", "latency_ms", "wall_ms", "measured", "predicted"})
        QVERIFY2(guiKeys.count(key), key);
    // Measured figures: times, and peak memory (it depends on how the
    // micro-batches of a run happen to overlap). Everything else must match.
    const std::set<std::string> timing = {
        "compute_ms",       "idle_ms",   "ms",  "throughput", "latency_ms", "wall_ms",
        "bubble_fraction",  "predicted", "p50", "p90",        "p95",        "p99",
        "peak_memory_bytes"};
    const QString diff = compareShared(guiJson, cli, timing);
    QVERIFY2(diff.isEmpty(), qPrintable(diff + "\nGUI: " + QString::fromStdString(guiJson.dump()) +
                                        "\nCLI: " + QString::fromStdString(cli.dump())));
    QCOMPARE(guiJson["stages"].size(), std::size_t(2));
    QCOMPARE(guiJson["microbatches"].get<int>(), 2);
    QCOMPARE(cli["batch"].get<std::int64_t>(), plan->batch);
    QCOMPARE(cli["iters"].get<int>(), 4);
    // The prediction is made by one function from the same executors: the
    // same keys and stage count (its figures include measured kernel rates).
    QCOMPARE(keysOf(guiJson["predicted"]), keysOf(cli["predicted"]));

    // Timing figures: one definition. The GUI's are the core summary of the
    // iteration and micro-batch times it recorded...
    std::vector<double> iterationMs;
    for (const RunIteration &iteration : gui->iterations)
        iterationMs.push_back(iteration.wallMs);
    QCOMPARE(int(iterationMs.size()), 4);
    QCOMPARE(int(gui->latenciesMs.size()), 4 * 2); // every micro-batch of every timed iteration
    const runtime::RunSummary summary =
        runtime::summarizeRuns(plan->batch, iterationMs, gui->latenciesMs);
    QCOMPARE(guiJson["throughput"].get<double>(), summary.throughput);
    QCOMPARE(gui->throughput, summary.throughput);
    QCOMPARE(summary.throughput, 4 * double(plan->batch) * 1000.0 / summary.totalMs);
    QCOMPARE(guiJson["latency_ms"]["p50"].get<double>(), summary.latencyP50Ms);
    QCOMPARE(guiJson["latency_ms"]["p90"].get<double>(), summary.latencyP90Ms);
    QCOMPARE(guiJson["latency_ms"]["p99"].get<double>(), summary.latencyP99Ms);
    QCOMPARE(gui->latencyP90, sb::percentile(gui->latenciesMs, 90));
    // ... and the CLI's obey the same definitions: throughput and latencies
    // printed twice agree, percentiles are ordered, the ideal bubble is
    // (p-1)/(M+p-1) for 2 stages and 2 micro-batches in both.
    QVERIFY(cli["measured"]["throughput"] == cli["throughput"]);
    QVERIFY(cli["measured"]["latency_ms"]["p90"] == cli["latency_ms"]["p90"]);
    QVERIFY(cli["latency_ms"]["p50"].get<double>() <= cli["latency_ms"]["p90"].get<double>());
    QVERIFY(cli["min_ms"].get<double>() <= cli["median_ms"].get<double>());
    QVERIFY(cli["throughput"].get<double>() > 0);
    QCOMPARE(guiJson["ideal_bubble_fraction"].get<double>(), runtime::idealBubbleFraction(2, 2));

    // The store keeps what core wrote: the Runs page's record of this run.
    const store::RunRecord record = recordFromOutcome(*gui, model);
    for (const char *key : {"throughput", "latency_ms", "bubble_fraction", "ideal_bubble_fraction"})
        QVERIFY2(record.metrics.at(key) == guiJson.at(key), key);
    const QString stored = compareShared(guiJson["stages"], record.timings.at("stages"), {});
    QVERIFY2(stored.isEmpty(), qPrintable(stored));
    QCOMPARE(outcomeFromRecord(record).throughput, gui->throughput);
    QCOMPARE(cli["ideal_bubble_fraction"].get<double>(), runtime::idealBubbleFraction(2, 2));

    // wall_ms is the timed iterations' total: the time throughput divides
    // by, and every iteration and micro-batch figure lies within it.
    QCOMPARE(guiJson["wall_ms"].get<double>(), summary.totalMs);
    QVERIFY(guiJson["measured"]["wall_ms"] == guiJson["wall_ms"]);
    QVERIFY(cli["measured"]["wall_ms"] == cli["wall_ms"]);
    for (const json *doc : {&guiJson, &cli}) {
        const double wall = (*doc)["wall_ms"].get<double>();
        QVERIFY(std::abs((*doc)["throughput"].get<double>() -
                         4 * double(plan->batch) / (wall / 1000.0)) <=
                1e-9 * (*doc)["throughput"].get<double>());
        for (const char *p : {"p50", "p90", "p95", "p99"})
            QVERIFY2((*doc)["latency_ms"][p].get<double>() <= wall, p);
    }
    QVERIFY(cli["median_ms"].get<double>() <= cli["p90_ms"].get<double>());
    QVERIFY(cli["p90_ms"].get<double>() <= cli["wall_ms"].get<double>());
    QVERIFY(4 * cli["min_ms"].get<double>() <= cli["wall_ms"].get<double>());

    // The run the CLI stored has the GUI's record layout: the same keys
    // (the GUI adds its stall probe and the ledger), the same
    // non-timing values, its figures the ones the CLI printed.
    auto opened = store::Store::open(database.toStdString());
    QVERIFY(opened.ok());
    auto runs = (*opened)->runs().runs();
    QVERIFY(runs.ok());
    QCOMPARE(runs->size(), std::size_t(1));
    const store::RunRecord &cliRecord = runs->front();
    QCOMPARE(cliRecord.config.value("source", ""), std::string("cli"));
    QCOMPARE(record.config.value("source", ""), std::string("gui"));
    for (const char *key : {"throughput", "latency_ms", "bubble_fraction", "ideal_bubble_fraction"})
        QVERIFY2(cliRecord.metrics.at(key) == cli.at(key), key);
    QCOMPARE(cliRecord.timings.at("wall_ms").size(), std::size_t(4));
    json guiRecord = {
        {"config", record.config}, {"timings", record.timings}, {"metrics", record.metrics}};
    guiRecord["config"].erase("source");
    guiRecord["metrics"].erase("gui_worst_stall_ms");
    for (json &stage : guiRecord["timings"]["stages"])
        stage.erase("ledger_memory_bytes");
    const json cliJsonRecord = {{"config", cliRecord.config},
                                {"timings", cliRecord.timings},
                                {"metrics", cliRecord.metrics}};
    std::set<std::string> recordTiming = timing;
    recordTiming.insert("wall_ms");
    const QString recordDiff = compareShared(guiRecord, cliJsonRecord, recordTiming);
    QVERIFY2(recordDiff.isEmpty(), qPrintable(recordDiff));
    QCOMPARE(keysOf(cliRecord.config), keysOf(record.config));
    QCOMPARE(keysOf(cliRecord.timings), keysOf(record.timings));
    QCOMPARE(keysOf(cliJsonRecord["metrics"]), keysOf(guiRecord["metrics"]));
}

void TestFrontEnds::sameEvaluationSameJson_data()
{
    QTest::addColumn<QString>("csv");
    QTest::addColumn<QString>("label");
    QTest::addColumn<QString>("score");
    QTest::newRow("binary, slices by site") << "binary_600.csv"
                                            << "label"
                                            << "score";
    QTest::newRow("regression") << "regression_900.csv"
                                << "target"
                                << "yhat";
}

void TestFrontEnds::sameEvaluationSameJson()
{
    QFETCH(QString, csv);
    QFETCH(QString, label);
    QFETCH(QString, score);
    const QString data = QStringLiteral(SB_TESTDATA_DIR "/eval/") + csv;
    EvalRequest request;
    request.currentPath = data;
    request.labelColumn = label;
    request.scoreColumn = score;
    CancelToken cancel;
    auto gui = runEvaluation(request, {}, cancel);
    QVERIFY2(gui.ok(), gui.ok() ? "" : gui.error().message.c_str());
    const json &guiJson = gui->eval;
    QVERIFY(guiJson.contains("overall"));

    // The CLI with what the page asks for: the same slices, auto slices on,
    // its default bootstrap (1000 resamples, seed 20240611) as the page's.
    QStringList arguments = {"eval", "--data", data, "--label", label, "--auto-slices", "--json"};
    // The page's one predictions field is --score for a binary label, else --pred.
    arguments << (guiJson.value("task", "") == "regression" ? "--pred" : "--score") << score;
    for (const json &slice : guiJson.value("slices", json::array()))
        arguments << "--slice"
                  << QString::fromStdString(slice.value("name", "") + ": " +
                                            slice.value("expr", ""));
    QString errors;
    const json cli = runCli(arguments, &errors);
    QVERIFY2(!cli.is_discarded(), qPrintable(errors));

    // Every key, every value: the metrics, their CIs, slices, calibration.
    QCOMPARE(keysOf(guiJson), keysOf(cli));
    const QString diff = compareShared(guiJson, cli, {});
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
    QVERIFY(!guiJson["overall"].empty());
}

QTEST_GUILESS_MAIN(TestFrontEnds)
#include "test_front_ends.moc"
