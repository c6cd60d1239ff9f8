// Metrics, calibration, temperature scaling, slices and gates against values
// computed by scikit-learn 1.2 / scipy 1.10 / numpy 1.24
// (tests/data/eval/make_eval_refs.py); bootstrap properties; the CLI's exit
// codes.
#include "core/eval/csv.h"
#include "core/eval/evaluation.h"
#include "core/eval/metric_definitions.h"
#include "core/eval/metrics.h"
#include "core/eval/radix_sort.h"
#include "core/eval/slices.h"

#include <QProcess>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

using namespace sb;
using namespace sb::eval;
using nlohmann::json;

namespace {

const std::string kDataDir = SB_TESTDATA_DIR "/eval/";

json loadJson(const std::string &path)
{
    std::ifstream in(path);
    return json::parse(in);
}

bool close(double actual, double expected, double rel)
{
    if (std::isnan(actual) || std::isnan(expected))
        return std::isnan(actual) && std::isnan(expected);
    // Relative tolerance; exact zeros must come out within 1e-15.
    return std::fabs(actual - expected) <= std::max(rel * std::fabs(expected), 1e-15);
}

#define COMPARE_NUM(actual, expected, rel)                                                         \
    do {                                                                                           \
        const double a_ = (actual), e_ = (expected);                                               \
        if (!close(a_, e_, rel))                                                                   \
            QFAIL(qPrintable(QString("%1: got %2, expected %3")                                    \
                                 .arg(#actual)                                                     \
                                 .arg(a_, 0, 'g', 17)                                              \
                                 .arg(e_, 0, 'g', 17)));                                           \
    } while (0)

EvalSpec specFor(const std::string &name)
{
    EvalSpec spec;
    spec.bootstrap = 0;
    if (name.rfind("binary", 0) == 0) {
        spec.label = "label";
        spec.score = "score";
    } else if (name.rfind("multiclass", 0) == 0) {
        spec.label = "label";
        spec.probaPrefix = "p_";
    } else {
        spec.label = "target";
        spec.pred = "yhat";
    }
    return spec;
}

void compareBins(const json &actual, const json &expected)
{
    QCOMPARE(actual.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        COMPARE_NUM(actual[i]["lower"].get<double>(), expected[i]["lower"].get<double>(), 1e-12);
        COMPARE_NUM(actual[i]["upper"].get<double>(), expected[i]["upper"].get<double>(), 1e-12);
        QCOMPARE(actual[i]["count"].get<int>(), expected[i]["count"].get<int>());
        COMPARE_NUM(actual[i]["confidence"].get<double>(), expected[i]["confidence"].get<double>(),
                    1e-9);
        COMPARE_NUM(actual[i]["accuracy"].get<double>(), expected[i]["accuracy"].get<double>(),
                    1e-9);
    }
}

int runCli(const QStringList &arguments, QByteArray *out = nullptr, QByteArray *err = nullptr)
{
    QProcess process;
    process.start(SB_CLI_PATH, arguments);
    if (!process.waitForFinished(120000))
        return -1;
    if (out)
        *out = process.readAllStandardOutput();
    if (err)
        *err = process.readAllStandardError();
    return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
}

} // namespace

// Same structure and values; floating-point numbers to 1e-12 relative.
void compareJson(const json &actual, const json &expected, const std::string &where)
{
    if (expected.is_number_float() || actual.is_number_float()) {
        QVERIFY2(actual.is_number(), where.c_str());
        if (!close(actual.get<double>(), expected.get<double>(), 1e-12))
            QFAIL(qPrintable(QString("%1: got %2, expected %3")
                                 .arg(QString::fromStdString(where))
                                 .arg(actual.get<double>(), 0, 'g', 17)
                                 .arg(expected.get<double>(), 0, 'g', 17)));
        return;
    }
    QVERIFY2(actual.type() == expected.type(), where.c_str());
    if (expected.is_object()) {
        QVERIFY2(actual.size() == expected.size(), where.c_str());
        for (const auto &[key, value] : expected.items()) {
            QVERIFY2(actual.contains(key), (where + "." + key).c_str());
            compareJson(actual[key], value, where + "." + key);
        }
    } else if (expected.is_array()) {
        QVERIFY2(actual.size() == expected.size(), where.c_str());
        for (std::size_t i = 0; i < expected.size(); ++i)
            compareJson(actual[i], expected[i], where + "[" + std::to_string(i) + "]");
    } else {
        QVERIFY2(actual == expected,
                 (where + ": " + actual.dump() + " vs " + expected.dump()).c_str());
    }
}

// The report `r` against scikit-learn's figures for the same data.
void checkAgainstScikitLearn(const json &r, const json &expected)
{
    QCOMPARE(r["rows"].get<int>(), expected["rows"].get<int>());
    QCOMPARE(r["task"].get<std::string>(), expected["task"].get<std::string>());
    // Closed forms: 1e-9 relative.
    for (const auto &[key, value] : expected["overall"].items()) {
        QVERIFY2(r["overall"].contains(key), key.c_str());
        QVERIFY2(r["overall"][key].is_number(), key.c_str());
        if (!close(r["overall"][key].get<double>(), value.get<double>(), 1e-9))
            QFAIL(qPrintable(QString("%1: got %2, expected %3")
                                 .arg(QString::fromStdString(key))
                                 .arg(r["overall"][key].get<double>(), 0, 'g', 17)
                                 .arg(value.get<double>(), 0, 'g', 17)));
    }
    if (expected["task"] == "regression")
        return;
    QCOMPARE(r["confusion_matrix"]["labels"], expected["confusion_matrix"]["labels"]);
    QCOMPARE(r["confusion_matrix"]["matrix"], expected["confusion_matrix"]["matrix"]);
    QCOMPARE(r["per_class"].size(), expected["per_class"].size());
    for (std::size_t i = 0; i < expected["per_class"].size(); ++i) {
        const json &a = r["per_class"][i], &e = expected["per_class"][i];
        QCOMPARE(a["label"], e["label"]);
        QCOMPARE(a["support"].get<int>(), e["support"].get<int>());
        for (const char *k : {"precision", "recall", "f1"})
            COMPARE_NUM(a[k].get<double>(), e[k].get<double>(), 1e-9);
    }
    const json &cal = r["calibration"], &ecal = expected["calibration"];
    compareBins(cal["bins"], ecal["bins"]);
    for (const char *k : {"ece", "mce", "adaptive_ece", "nll_before"})
        COMPARE_NUM(cal[k].get<double>(), ecal[k].get<double>(), 1e-9);
    // Iterative optimiser: T to 1e-6; the figures after it follow T.
    COMPARE_NUM(cal["temperature"].get<double>(), ecal["temperature"].get<double>(), 1e-6);
    COMPARE_NUM(cal["nll_after_temperature"].get<double>(),
                ecal["nll_after_temperature"].get<double>(), 1e-9);
    COMPARE_NUM(cal["ece_after_temperature"].get<double>(),
                ecal["ece_after_temperature"].get<double>(), 1e-6);
    // The bins after scaling reproduce ece_after_temperature:
    // sum over bins of count/n * |accuracy - confidence|.
    double eceFromBins = 0, binned = 0;
    for (const json &bin : cal["bins_after_temperature"]) {
        const double count = bin["count"].get<double>();
        eceFromBins +=
            count * std::abs(bin["accuracy"].get<double>() - bin["confidence"].get<double>());
        binned += count;
    }
    QCOMPARE(binned, double(r["rows"].get<std::int64_t>()));
    COMPARE_NUM(eceFromBins / binned, cal["ece_after_temperature"].get<double>(), 1e-9);
}

class TestMetrics : public QObject
{
    Q_OBJECT

private slots:
    void matchesScikitLearn_data()
    {
        QTest::addColumn<QString>("name");
        for (const char *name : {"binary_600", "binary_12000", "multiclass_1500", "regression_900",
                                 "regression_11000"})
            QTest::newRow(name) << name;
    }

    void matchesScikitLearn()
    {
        QFETCH(QString, name);
        const std::string base = kDataDir + name.toStdString();
        const json expected = loadJson(base + ".json");
        auto table = readCsv(base + ".csv");
        QVERIFY2(table.ok(), table.ok() ? "" : table.error().message.c_str());
        auto inMemory = evaluate(*table, specFor(name.toStdString()));
        QVERIFY2(inMemory.ok(), inMemory.ok() ? "" : inMemory.error().message.c_str());
        // evaluateCsv streams the binary files (the others go through evaluate()).
        auto streamed = evaluateCsv(base + ".csv", specFor(name.toStdString()));
        QVERIFY2(streamed.ok(), streamed.ok() ? "" : streamed.error().message.c_str());
        for (const json *report : {&inMemory->json, &streamed->json})
            checkAgainstScikitLearn(*report, expected);
        if (expected["task"] == "regression")
            return;
        // Quantile binning.
        EvalSpec spec = specFor(name.toStdString());
        spec.binning = Binning::Quantile;
        auto quantile = evaluate(*table, spec);
        QVERIFY(quantile.ok());
        const json &ecal = expected["calibration"];
        compareBins(quantile->json["calibration"]["bins"], ecal["quantile_bins"]);
        COMPARE_NUM(quantile->json["calibration"]["ece"].get<double>(),
                    ecal["quantile_ece"].get<double>(), 1e-9);
        COMPARE_NUM(quantile->json["calibration"]["mce"].get<double>(),
                    ecal["quantile_mce"].get<double>(), 1e-9);
    }

    void streamedEvaluationMatchesInMemory_data()
    {
        QTest::addColumn<QString>("positive");
        QTest::addColumn<double>("threshold");
        QTest::newRow("greater label") << "" << 0.5;
        QTest::newRow("positive no, threshold 0.3") << "no" << 0.3;
    }

    void streamedEvaluationMatchesInMemory()
    {
        // Categorical labels, missing labels and scores, and scores with two
        // decimals: runs of equal confidences that mix right and wrong rows
        // straddle the equal-mass bins (the streamed path's second pass).
        QFETCH(QString, positive);
        QFETCH(double, threshold);
        QTemporaryDir dir;
        const std::string path = dir.filePath("ties.csv").toStdString();
        {
            std::ofstream out(path);
            out << "label,score,other\n";
            std::mt19937_64 rng(11);
            std::uniform_real_distribution<double> u(0, 1);
            for (int i = 0; i < 30011; ++i) {
                const bool yes = u(rng) < 0.4;
                const double s =
                    std::round(std::clamp(u(rng) * 0.6 + (yes ? 0.35 : 0.05), 0.0, 1.0) * 100) /
                    100;
                out << (i % 997 == 0 ? "" : (yes ? "yes" : "no")) << ",";
                if (i % 1009 == 0)
                    out << "nan";
                else
                    out << s;
                out << "," << (i == 5 ? "text" : std::to_string(i)) << "\n";
            }
        }
        EvalSpec spec;
        spec.label = "label";
        spec.score = "score";
        spec.bootstrap = 0;
        spec.positive = positive.toStdString();
        spec.threshold = threshold;
        spec.gates = {"ece < 0.5"};
        auto table = readCsv(path);
        QVERIFY(table.ok());
        auto inMemory = evaluate(*table, spec);
        auto streamed = evaluateCsv(path, spec);
        QVERIFY2(inMemory.ok(), inMemory.ok() ? "" : inMemory.error().message.c_str());
        QVERIFY2(streamed.ok(), streamed.ok() ? "" : streamed.error().message.c_str());
        // Everything equal; sums over sorted scores (temperature, NLL, the
        // bins after scaling) to rounding.
        // The streamed path converts (and diagnoses) only the label and score
        // columns; the in-memory one every column ("other" mixes in text).
        QCOMPARE(inMemory->json["diagnostics"].size(), std::size_t(1));
        QCOMPARE(streamed->json["diagnostics"].size(), std::size_t(0));
        json a = streamed->json, b = inMemory->json;
        a.erase("diagnostics");
        b.erase("diagnostics");
        compareJson(a, b, "");
        QCOMPARE(a["calibration"]["adaptive_ece"], b["calibration"]["adaptive_ece"]);
        QCOMPARE(a["calibration"]["bins"], b["calibration"]["bins"]);
        QCOMPARE(a["overall"], b["overall"]);
    }

    void radixSortMatchesStableSort_data()
    {
        QTest::addColumn<int>("n");
        QTest::newRow("small") << 1000;
        QTest::newRow("large, threaded") << 3000000;
    }

    void radixSortMatchesStableSort()
    {
        QFETCH(int, n);
        std::mt19937_64 rng(5);
        std::vector<double> values(static_cast<std::size_t>(n));
        for (auto &v : values) {
            const auto r = rng();
            v = r % 5 == 0
                    ? -0.0
                    : (r % 7 == 0
                           ? 0.0
                           : static_cast<double>(static_cast<std::int64_t>(r % 2001) - 1000) / 8);
            if (r % 11 == 0)
                v = std::ldexp(static_cast<double>(r >> 12), -60) * (r % 2 ? 1 : -1);
        }
        std::vector<std::uint64_t> keys(values.size());
        std::vector<std::uint32_t> rows(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            keys[i] = orderedKey(values[i]);
            rows[i] = static_cast<std::uint32_t>(i);
        }
        radixSort<std::uint32_t>(keys, rows);
        std::vector<std::uint32_t> expected(values.size());
        std::iota(expected.begin(), expected.end(), 0u);
        std::stable_sort(expected.begin(), expected.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return values[a] < values[b]; });
        QVERIFY(rows == expected);
        for (std::size_t i = 0; i < values.size(); ++i)
            QVERIFY(fromOrderedKey(keys[i]) == values[rows[i]]);
    }

    void userSliceMatchesMask()
    {
        const json expected = loadJson(kDataDir + "binary_600.json");
        auto table = readCsv(kDataDir + "binary_600.csv");
        QVERIFY(table.ok());
        EvalSpec spec = specFor("binary_600");
        spec.slices = {"old_north: site == north and age >= 50"};
        spec.bootstrap = 200;
        auto report = evaluate(*table, spec);
        QVERIFY(report.ok());
        const json &s = report->json["slices"][0];
        QCOMPARE(s["name"].get<std::string>(), std::string("old_north"));
        QCOMPARE(s["rows"].get<int>(), expected["slice"]["rows"].get<int>());
        COMPARE_NUM(s["metrics"]["accuracy"].get<double>(),
                    expected["slice"]["accuracy"].get<double>(), 1e-12);
        COMPARE_NUM(s["metrics"]["roc_auc"].get<double>(),
                    expected["slice"]["roc_auc"].get<double>(), 1e-9);
        const double lo = s["ci"]["accuracy"][0], hi = s["ci"]["accuracy"][1];
        QVERIFY(lo < s["metrics"]["accuracy"].get<double>());
        QVERIFY(hi > s["metrics"]["accuracy"].get<double>());
    }

    void autoSlicesFindPlantedWeakSlice()
    {
        const json expected = loadJson(kDataDir + "binary_12000.json");
        auto table = readCsv(kDataDir + "binary_12000.csv");
        QVERIFY(table.ok());
        EvalSpec spec = specFor("binary_12000");
        spec.autoSlices = true;
        spec.bootstrap = 50;
        auto report = evaluate(*table, spec);
        QVERIFY(report.ok());
        const json &found = report->json["auto_slices"];
        QVERIFY(!found.empty());
        bool seen = false;
        double previous = 1e300;
        for (const auto &s : found) {
            QVERIFY(s["effect"].get<double>() <= previous); // ranked by effect
            previous = s["effect"].get<double>();
            QVERIFY(s["rows"].get<int>() >= 120); // 1% of rows
            if (s["expr"] == expected["weak_slice"]["expr"]) {
                seen = true;
                QCOMPARE(s["rows"].get<int>(), expected["weak_slice"]["rows"].get<int>());
                COMPARE_NUM(s["value"].get<double>(),
                            expected["weak_slice"]["accuracy"].get<double>(), 1e-12);
                // scipy.stats.norm.sf of the pooled z statistic.
                COMPARE_NUM(s["p_value"].get<double>(),
                            expected["weak_slice"]["p_value"].get<double>(), 1e-6);
                QVERIFY(s["significant"].get<bool>());
            }
            // Every reported slice is a valid user slice giving the same rows.
            EvalSpec check = specFor("binary_12000");
            check.slices = {"x: " + s["expr"].get<std::string>()};
            auto again = evaluate(*table, check);
            QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
            QCOMPARE(again->json["slices"][0]["rows"], s["rows"]);
        }
        QVERIFY(seen);
    }

    void benjaminiHochbergMatchesDefinition()
    {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), "BH")
        const std::vector<double> q = benjaminiHochberg({0.01, 0.04, 0.03, 0.005, 0.5});
        const std::vector<double> expected = {0.025, 0.05, 0.05, 0.025, 0.5};
        for (std::size_t i = 0; i < q.size(); ++i)
            COMPARE_NUM(q[i], expected[i], 1e-12);
    }

    void bootstrapIsSeededAndThreadIndependent()
    {
        auto table = readCsv(kDataDir + "binary_600.csv");
        QVERIFY(table.ok());
        EvalSpec spec = specFor("binary_600");
        spec.bootstrap = 300;
        spec.threads = 1;
        auto a = evaluate(*table, spec);
        spec.threads = 4;
        auto b = evaluate(*table, spec);
        spec.seed = 7;
        auto c = evaluate(*table, spec);
        QVERIFY(a.ok() && b.ok() && c.ok());
        QCOMPARE(a->json["ci"], b->json["ci"]);
        QVERIFY(a->json["ci"] != c->json["ci"]);
        for (const auto &[key, interval] : a->json["ci"].items()) {
            const double v = a->json["overall"][key];
            QVERIFY2(interval[0].get<double>() <= v && v <= interval[1].get<double>(), key.c_str());
        }
    }

    void sliceParseErrorsNamePosition_data()
    {
        QTest::addColumn<QString>("slice");
        QTest::addColumn<QString>("message");
        QTest::newRow("no colon") << "site == a"
                                  << "slice 'site == a': expected \"NAME: EXPR\"";
        QTest::newRow("bad op") << "s: site = a"
                                << "slice 's': position 6: unknown operator '='";
        QTest::newRow("missing value")
            << "s: age >="
            << "slice 's': position 7: expected a value after '>=' at the end";
        QTest::newRow("bad list") << "s: site in [a b]"
                                  << "slice 's': position 12: expected ',' or ']' at 'b'";
        QTest::newRow("junk after") << "s: age > 3 or x"
                                    << "slice 's': position 9: expected 'and' or the end";
    }

    void sliceParseErrorsNamePosition()
    {
        QFETCH(QString, slice);
        QFETCH(QString, message);
        auto parsed = parseSlice(slice.toStdString());
        QVERIFY(!parsed.ok());
        QVERIFY2(QString::fromStdString(parsed.error().message).startsWith(message),
                 parsed.error().message.c_str());
    }

    void sliceOperators()
    {
        auto table =
            readCsvString("site,age,when\na,10,2024-01-01\nb,20,2024-02-01\nc,,2024-03-01\n"
                          "a,40,\n",
                          "t.csv");
        QVERIFY(table.ok());
        const std::vector<RowIndex> all = allRows(table->rows);
        auto rows = [&](const std::string &expr) {
            auto spec = parseSliceExpr("t", expr);
            if (!spec.ok())
                return std::vector<RowIndex>{999};
            auto r = selectRows(*table, *spec, all);
            return r.ok() ? *r : std::vector<RowIndex>{999};
        };
        QCOMPARE(rows("site == a"), (std::vector<RowIndex>{0, 3}));
        QCOMPARE(rows("site != a"), (std::vector<RowIndex>{1, 2}));
        QCOMPARE(rows("site in [b, 'c']"), (std::vector<RowIndex>{1, 2}));
        QCOMPARE(rows("age < 20"), (std::vector<RowIndex>{0}));
        QCOMPARE(rows("age <= 20"), (std::vector<RowIndex>{0, 1}));
        QCOMPARE(rows("age > 10 and site == a"), (std::vector<RowIndex>{3}));
        QCOMPARE(rows("age != 10"), (std::vector<RowIndex>{1, 3})); // missing never matches
        QCOMPARE(rows("when >= 2024-02-01"), (std::vector<RowIndex>{1, 2}));
        auto spec = parseSliceExpr("t", "site < a");
        QVERIFY(spec.ok());
        QVERIFY(!selectRows(*table, *spec, all).ok());
        spec = parseSliceExpr("t", "nope == 1");
        QVERIFY(spec.ok());
        auto missing = selectRows(*table, *spec, all);
        QVERIFY(!missing.ok());
        QVERIFY(QString::fromStdString(missing.error().message).contains("'nope'"));
    }

    void badColumnDoesNotAbortReport()
    {
        auto table = readCsvString(
            "label,score,empty,mixed\n1,0.9,,1\n0,0.2,,x\n1,0.6,,2\n0,0.4,,3\n", "t.csv");
        QVERIFY(table.ok());
        EvalSpec spec;
        spec.label = "label";
        spec.score = "score";
        spec.bootstrap = 0;
        auto report = evaluate(*table, spec);
        QVERIFY(report.ok());
        QCOMPARE(report->json["overall"]["accuracy"].get<double>(), 1.0);
        QCOMPARE(report->json["diagnostics"].size(), std::size_t(2));
    }

    // Names, report keys, CI keys and bootstrap order all come from the one
    // metric table.
    void metricTableDrivesReportKeys_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("task");
        QTest::newRow("binary") << "binary_600" << int(Task::Classification);
        QTest::newRow("multiclass") << "multiclass_1500" << int(Task::Classification);
        QTest::newRow("regression") << "regression_900" << int(Task::Regression);
    }
    void metricTableDrivesReportKeys()
    {
        QFETCH(QString, file);
        QFETCH(int, task);
        auto table = readCsv(kDataDir + file.toStdString() + ".csv");
        QVERIFY(table.ok());
        EvalSpec spec = specFor(file.toStdString());
        spec.bootstrap = 20;
        spec.slices = {"all: " + spec.label + " != -12345.678"}; // every row
        auto report = evaluate(*table, spec);
        QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
        const json &r = report->json;
        std::set<std::string> expected;
        for (const MetricDefinition *d : overallMetrics(Task(task)))
            expected.insert(std::string(d->name));
        auto keys = [](const json &object) {
            std::set<std::string> out;
            for (auto it = object.begin(); it != object.end(); ++it)
                out.insert(it.key());
            return out;
        };
        QVERIFY(!expected.empty());
        QCOMPARE(keys(r["overall"]), expected);
        QCOMPARE(keys(r["ci"]), expected); // what the Evaluation page reads its CIs from
        QCOMPARE(keys(r["slices"][0]["metrics"]), expected);
        QCOMPARE(keys(r["slices"][0]["ci"]), expected);
        QCOMPARE(r["task"].get<std::string>(), std::string(taskName(Task(task))));
        // Each interval brackets the bootstrap of its own metric (vector order
        // matches the names): the point estimate lies inside for accuracy/mae.
        const std::string primary(primaryMetric(Task(task)).name);
        QVERIFY(r["ci"][primary][0].get<double>() <= r["overall"][primary].get<double>());
        QVERIFY(r["ci"][primary][1].get<double>() >= r["overall"][primary].get<double>());
        // The slice covering every row has the overall values.
        for (const std::string &name : expected)
            QCOMPARE(r["slices"][0]["metrics"][name], r["overall"][name]);
        if (Task(task) == Task::Classification)
            for (const MetricDefinition &d : metricDefinitions())
                if (d.calibration)
                    QVERIFY2(r["calibration"].contains(std::string(d.name)), d.name.data());
    }

    void metricTableIsConsistent()
    {
        for (Task task : {Task::Classification, Task::Regression}) {
            int primaries = 0;
            std::set<std::string_view> names;
            for (const MetricDefinition &d : metricDefinitions()) {
                if (d.task != task)
                    continue;
                QVERIFY2(names.insert(d.name).second, d.name.data());
                primaries += d.primary ? 1 : 0;
                QCOMPARE(findMetric(d.name, task), &d);
                QCOMPARE(isErrorLike(d.name), d.direction == Direction::LowerIsBetter);
                QCOMPARE(d.hasConfidenceInterval(), d.overall());
                if (d.overall())
                    QVERIFY((task == Task::Classification) == (d.classification != nullptr));
            }
            QCOMPARE(primaries, 1);
            QVERIFY(primaryMetric(task).overall());
        }
        QCOMPARE(std::string(primaryMetric(Task::Classification).name), std::string("accuracy"));
        QCOMPARE(std::string(primaryMetric(Task::Regression).name), std::string("mae"));
        QVERIFY(isErrorLike("ece") && isErrorLike("adaptive_ece") && isErrorLike("mae"));
        QVERIFY(!isErrorLike("accuracy") && !isErrorLike("r2") && !isErrorLike("temperature"));
        QVERIFY(!isErrorLike("no_such_metric"));
    }

    // Gates are rules of the governance rule language (rules.h) over the
    // report's overall, calibration and SLICE.metric values.
    void gates_data()
    {
        QTest::addColumn<QString>("gate");
        QTest::addColumn<int>("outcome");  // 1 passed, 0 failed, -1 bad input
        QTest::addColumn<double>("value"); // NaN: not checked
        const double nan = std::nan("");
        QTest::newRow("holds") << "accuracy >= 0.75" << 1 << 0.75;
        QTest::newRow("fails") << "accuracy > 0.75" << 0 << 0.75;
        QTest::newRow("no spaces") << "accuracy>=0.75" << 1 << 0.75;
        QTest::newRow("calibration key") << "adaptive_ece >= 0" << 1 << nan;
        QTest::newRow("and") << "accuracy >= 0.7 and roc_auc > 0.9" << 1 << nan;
        QTest::newRow("and fails") << "accuracy >= 0.7 and roc_auc > 1" << 0 << nan;
        QTest::newRow("or") << "accuracy > 0.9 or brier < 1" << 1 << nan;
        QTest::newRow("not") << "not (accuracy >= 0.7)" << 0 << 0.75;
        QTest::newRow("slice metric") << "hi.accuracy == 1" << 1 << 1.0;
        QTest::newRow("slice name with a space") << "high score.accuracy == 1" << 1 << 1.0;
        QTest::newRow("undefined value fails") << "hi.roc_auc > 0" << 0 << nan;
        QTest::newRow("undefined value, != fails") << "hi.roc_auc != 0" << 0 << nan;
        QTest::newRow("exponent") << "ece < 1e3" << 1 << nan;
        QTest::newRow("unknown metric") << "nope >= 1" << -1 << nan;
        QTest::newRow("unknown in a compound") << "accuracy >= 0 and nope < 1" << -1 << nan;
        QTest::newRow("no operator") << "accuracy" << -1 << nan;
        QTest::newRow("no number") << "accuracy >= high" << -1 << nan;
        QTest::newRow("bad operator") << "accuracy => 1" << -1 << nan;
    }
    void gates()
    {
        QFETCH(QString, gate);
        QFETCH(int, outcome);
        QFETCH(double, value);
        // Accuracy 0.75 (two positives scored below 0.5), ROC AUC 1; slice
        // hi = the rows scored above 0.5, all positive (ROC AUC undefined).
        auto table = readCsvString(
            "label,score\n1,0.9\n0,0.2\n1,0.4\n0,0.3\n1,0.8\n0,0.1\n1,0.7\n1,0.45\n", "t.csv");
        QVERIFY(table.ok());
        EvalSpec spec;
        spec.label = "label";
        spec.score = "score";
        spec.bootstrap = 0;
        spec.slices = {"hi: score > 0.5", "high score: score > 0.5"};
        spec.gates = {gate.toStdString()};
        auto report = evaluate(*table, spec);
        if (outcome < 0) {
            QVERIFY(!report.ok());
            QCOMPARE(report.error().code, ErrorCode::InvalidInput);
            QVERIFY2(report.error().message.find("gate '" + gate.toStdString() + "'") !=
                         std::string::npos,
                     report.error().message.c_str());
            return;
        }
        QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
        QCOMPARE(report->json["overall"]["accuracy"].get<double>(), 0.75);
        QCOMPARE(report->gates.size(), std::size_t(1));
        QCOMPARE(report->gates[0].passed, outcome == 1);
        QCOMPARE(report->gatesPassed, outcome == 1);
        const json &g = report->json["gates"][0];
        QCOMPARE(g["expr"].get<std::string>(), gate.toStdString());
        QCOMPARE(g["passed"].get<bool>(), outcome == 1);
        if (!std::isnan(value)) {
            QCOMPARE(g["value"].get<double>(), value);
            QCOMPARE(g["values"].size(), std::size_t(1));
        }
        if (gate.contains(" and "))
            QCOMPARE(g["values"].size(), std::size_t(2)); // each metric the rule names
    }

    void cliGatesAndBadData()
    {
        const QString data = QString::fromStdString(kDataDir + "binary_600.csv");
        QByteArray out, err;
        int code =
            runCli({"eval", "--data", data, "--label", "label", "--score", "score", "--bootstrap",
                    "0", "--gate", "accuracy >= 0.99", "--gate", "roc_auc > 0.5", "--json"},
                   &out, &err);
        QCOMPARE(code, 3);
        const json r = json::parse(out.toStdString());
        QCOMPARE(r["gates"].size(), std::size_t(2));
        QCOMPARE(r["gates"][0]["passed"].get<bool>(), false);
        QCOMPARE(r["gates"][1]["passed"].get<bool>(), true);
        QVERIFY(err.contains("gate failed: accuracy >= 0.99"));
        QVERIFY(!err.contains("roc_auc > 0.5"));

        code = runCli({"eval", "--data", data, "--label", "label", "--score", "score",
                       "--bootstrap", "0", "--gate", "accuracy >= 0.5"},
                      &out, &err);
        QCOMPARE(code, 0);

        QTemporaryDir dir;
        const QString bad = dir.filePath("bad.csv");
        QFile file(bad);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("label,score\n1,0.5\n0,\"0.25\n");
        file.close();
        code = runCli({"eval", "--data", bad, "--label", "label", "--score", "score"}, &out, &err);
        QCOMPARE(code, 2);
        QVERIFY2(err.contains("bad.csv:3: column 'score': unterminated quoted field"),
                 err.constData());

        code = runCli({"eval", "--data", data, "--label", "nope", "--score", "score"}, &out, &err);
        QCOMPARE(code, 2);
        QVERIFY(err.contains("'nope'"));
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "test_metrics.moc"
