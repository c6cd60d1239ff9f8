// Drift statistics, dataset drift, windows, quality and PII against values
// computed by Debian's scipy 1.10 / numpy 1.24 and plain Python
// (tests/data/drift/make_drift_refs.py; regenerate with /usr/bin/python3).
// Tolerances: 1e-9 relative for closed forms, 1e-6 relative for p-values.
#include "core/eval/drift.h"
#include "core/eval/drift_dataset.h"
#include "core/eval/memory_limit.h"
#include "core/eval/pii.h"
#include "core/eval/quality.h"
#include "core/eval/stats.h"

#include <QProcess>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

using namespace sb::eval;
using Json = nlohmann::json;

namespace {

const std::string kDir = SB_TESTDATA_DIR "/drift/";

Json loadJson(const std::string &name)
{
    std::ifstream in(kDir + name);
    return Json::parse(in);
}

double asNumber(const Json &v)
{
    if (v.is_string()) {
        std::string s = v.get<std::string>();
        if (s == "inf")
            return INFINITY;
        if (s == "-inf")
            return -INFINITY;
        return NAN;
    }
    return v.get<double>();
}

// Worst relative errors seen, printed at the end (the closing note quotes them).
double g_worstClosedForm = 0.0, g_worstPValue = 0.0;

bool close(double actual, double expected, double tolerance, double *worst)
{
    if (std::isinf(expected))
        return actual == expected;
    double diff = std::fabs(actual - expected);
    double scale = std::max(std::fabs(expected), 1e-300);
    if (expected == 0.0)
        return diff <= 1e-300;
    if (worst)
        *worst = std::max(*worst, diff / scale);
    return diff <= tolerance * scale;
}

#define CHECK_CLOSE(actual, expected, tol, worst, what)                                            \
    do {                                                                                           \
        double a_ = (actual), e_ = (expected);                                                     \
        if (!close(a_, e_, tol, worst))                                                            \
            QFAIL(qPrintable(QString("%1: got %2, expected %3")                                    \
                                 .arg(QString::fromStdString(what))                                \
                                 .arg(a_, 0, 'g', 17)                                              \
                                 .arg(e_, 0, 'g', 17)));                                           \
    } while (0)

DriftMethod methodFromName(const std::string &name)
{
    return *parseDriftMethod(name);
}

} // namespace

class TestEvalDrift : public QObject
{
    Q_OBJECT

private slots:
    void kolmogorovDistributionMatchesScipy()
    {
        Json cases = loadJson("expected_stats.json");
        for (const auto &c : cases["kstwo"]) {
            int n = c["n"];
            double d = c["d"];
            CHECK_CLOSE(kolmogorovTwoSidedSf(n, d), c["sf"].get<double>(), 1e-6, &g_worstPValue,
                        "kstwo.sf n=" + std::to_string(n) + " d=" + std::to_string(d));
        }
    }

    void chiSquareAndNormalMatchScipy()
    {
        Json cases = loadJson("expected_stats.json");
        for (const auto &c : cases["chi2"])
            CHECK_CLOSE(chiSquareSf(c["x"], c["df"]), c["sf"].get<double>(), 1e-6, &g_worstPValue,
                        "chi2.sf x=" + c["x"].dump() + " df=" + c["df"].dump());
        for (const auto &c : cases["normal"])
            CHECK_CLOSE(normalTwoSidedP(c["z"]), c["p"].get<double>(), 1e-6, &g_worstPValue,
                        "normal z=" + c["z"].dump());
        // incomplete gamma identities
        QVERIFY(std::fabs(regularizedGammaP(3.5, 2.0) + regularizedGammaQ(3.5, 2.0) - 1.0) < 1e-14);
        QVERIFY(std::fabs(regularizedGammaQ(1.0, 2.0) - std::exp(-2.0)) < 1e-15);
    }

    void ksAndWassersteinMatchScipy()
    {
        Json cases = loadJson("expected_stats.json");
        for (const auto &c : cases["ks"]) {
            auto a = c["a"].get<std::vector<double>>();
            auto b = c["b"].get<std::vector<double>>();
            std::sort(a.begin(), a.end());
            std::sort(b.begin(), b.end());
            std::string what = "ks n1=" + c["n1"].dump() + " n2=" + c["n2"].dump();
            KsResult ks = ksTwoSample(a, b);
            CHECK_CLOSE(ks.statistic, c["statistic"].get<double>(), 1e-9, &g_worstClosedForm, what);
            CHECK_CLOSE(ks.pValue, c["p_value"].get<double>(), 1e-6, &g_worstPValue, what);
            QCOMPARE(ks.method == KsMethod::Exact, std::max(a.size(), b.size()) <= 10000);
            CHECK_CLOSE(wassersteinSorted(a, b), c["wasserstein"].get<double>(), 1e-9,
                        &g_worstClosedForm, what + " wasserstein");
        }
    }

    void largeSamplesSortLikeStdSort()
    {
        // fromNumbers radix-sorts large samples; it must agree with std::sort and drop NaN/inf.
        std::vector<double> values;
        std::uint64_t state = 12345;
        for (int i = 0; i < 200000; ++i) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            double v = static_cast<double>(static_cast<std::int64_t>(state >> 11)) * 1e-12 - 4e3;
            values.push_back(i % 1000 == 0 ? -0.0 : (i % 997 == 0 ? 1e300 : v));
        }
        values.push_back(NAN);
        values.push_back(INFINITY);
        values.push_back(-INFINITY);
        values.push_back(-1e-310); // subnormal
        DriftSample sample = DriftSample::fromNumbers(values);
        std::vector<double> expected;
        for (double v : values)
            if (std::isfinite(v))
                expected.push_back(v);
        std::sort(expected.begin(), expected.end());
        QCOMPARE(sample.sorted.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i)
            QVERIFY(sample.sorted[i] == expected[i]);
    }

    void sturgesBinsMatchNumpy()
    {
        // numpy.histogram_bin_edges([0, 1, 2, 3, 10], 'sturges') -> 4 bins over [0, 10]
        auto edges = sturgesEdges(0.0, 10.0, 5);
        QCOMPARE(edges.size(), std::size_t(5));
        QCOMPARE(edges.front(), 0.0);
        QCOMPARE(edges.back(), 10.0);
        std::vector<double> sorted{0, 1, 2, 3, 10};
        auto counts = histogramSorted(sorted, edges);
        QCOMPARE(counts, (std::vector<double>{3, 1, 0, 1})); // last bin is closed
    }

    void columnDriftMatchesReferences_data()
    {
        QTest::addColumn<int>("caseIndex");
        Json expected = loadJson("expected_drift.json");
        for (std::size_t i = 0; i < expected["drift"].size(); ++i)
            QTest::newRow(expected["drift"][i]["name"].get<std::string>().c_str())
                << static_cast<int>(i);
    }

    void columnDriftMatchesReferences()
    {
        QFETCH(int, caseIndex);
        Json expected =
            loadJson("expected_drift.json")["drift"][static_cast<std::size_t>(caseIndex)];
        auto reference = readCsv(kDir + expected["reference"].get<std::string>());
        auto current = readCsv(kDir + expected["current"].get<std::string>());
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        QVERIFY2(current.ok(), current.ok() ? "" : current.error().message.c_str());

        // Default profile: method choice, statistics and the dataset verdict.
        auto report = runDrift(*reference, *current, DriftDatasetOptions{});
        QVERIFY(report.ok());
        QCOMPARE(report->columns.size(), expected["columns"].size());
        for (std::size_t c = 0; c < report->columns.size(); ++c) {
            const auto &got = report->columns[c];
            const auto &want = expected["columns"][c];
            QCOMPARE(got.name, want["name"].get<std::string>());
            QVERIFY2(got.error.empty(), got.error.c_str());
            QCOMPARE(got.type, want["type"].get<std::string>());
            QCOMPARE(got.referenceRows, want["reference_rows"].get<std::size_t>());
            QCOMPARE(got.currentRows, want["current_rows"].get<std::size_t>());
            QCOMPARE(std::string(driftMethodName(got.method)),
                     want["auto_method"].get<std::string>());
            QVERIFY(!got.rule.empty());
        }
        QCOMPARE(report->summary.driftedColumns, expected["drifted_columns"].get<std::size_t>());
        QCOMPARE(report->summary.datasetDrift, expected["dataset_drift"].get<bool>());
        CHECK_CLOSE(report->summary.shareDrifted, expected["share_drifted"].get<double>(), 1e-12,
                    nullptr, "share_drifted");

        // The streamed file path gives the same report: in one pass, and in
        // one pass per column under a tiny memory limit.
        for (std::size_t limit : {std::size_t(0), std::size_t(1)}) {
            DriftDatasetOptions streamedOptions;
            streamedOptions.memoryLimit = limit;
            auto streamed =
                runDrift(kDir + expected["reference"].get<std::string>(),
                         kDir + expected["current"].get<std::string>(), streamedOptions);
            QVERIFY2(streamed.ok(), streamed.ok() ? "" : streamed.error().message.c_str());
            QCOMPARE(streamed->referenceRows, reference->rows);
            QCOMPARE(streamed->currentRows, current->rows);
            QCOMPARE(streamed->columns.size(), report->columns.size());
            for (std::size_t c = 0; c < report->columns.size(); ++c) {
                const auto &a = streamed->columns[c], &b = report->columns[c];
                QCOMPARE(a.name, b.name);
                QCOMPARE(a.method, b.method);
                QCOMPARE(a.statistic, b.statistic);
                QCOMPARE(a.pValue, b.pValue);
                QCOMPARE(a.drifted, b.drifted);
                QCOMPARE(a.referenceRows, b.referenceRows);
                QCOMPARE(a.currentRows, b.currentRows);
                QCOMPARE(a.bins.edges, b.bins.edges);
                QCOMPARE(a.bins.reference, b.bins.reference);
                QCOMPARE(a.bins.current, b.bins.current);
            }
            QCOMPARE(streamed->summary.driftedColumns, report->summary.driftedColumns);
        }

        // Every method on every column it applies to.
        for (const std::string method :
             {"ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div"}) {
            DriftDatasetOptions options;
            options.methods["*"] = methodFromName(method);
            auto forced = runDrift(*reference, *current, options);
            QVERIFY(forced.ok());
            for (std::size_t c = 0; c < forced->columns.size(); ++c) {
                const auto &got = forced->columns[c];
                const auto &want = expected["columns"][c];
                std::string what =
                    expected["name"].get<std::string>() + "/" + got.name + "/" + method;
                if (!want["methods"].contains(method)) {
                    QVERIFY2(!got.error.empty(), what.c_str()); // not applicable -> diagnostic
                    continue;
                }
                QVERIFY2(got.error.empty(), (what + ": " + got.error).c_str());
                const auto &m = want["methods"][method];
                CHECK_CLOSE(got.statistic, asNumber(m["statistic"]), 1e-9, &g_worstClosedForm,
                            what);
                if (m["p_value"].is_null()) {
                    QVERIFY(!got.pValue.has_value());
                } else {
                    QVERIFY(got.pValue.has_value());
                    CHECK_CLOSE(*got.pValue, asNumber(m["p_value"]), 1e-6, &g_worstPValue, what);
                }
                QCOMPARE(got.drifted, m["drifted"].get<bool>());
                if (m.contains("ks_mode"))
                    QCOMPARE(got.ksMode, m["ks_mode"].get<std::string>());
                if (m.contains("bins")) {
                    QCOMPARE(got.bins.kind, m["bins"]["kind"].get<std::string>());
                    if (got.bins.kind == "sturges") {
                        auto edges = m["bins"]["edges"].get<std::vector<double>>();
                        QCOMPARE(got.bins.edges.size(), edges.size());
                        for (std::size_t e = 0; e < edges.size(); ++e)
                            QCOMPARE(got.bins.edges[e], edges[e]); // bit-identical to numpy
                    } else {
                        QCOMPARE(got.bins.values.size(), m["bins"]["count"].get<std::size_t>());
                    }
                }
            }
        }
    }

    void thresholdsAndMethodsPerColumn()
    {
        auto reference = readCsv(kDir + "small_reference.csv");
        auto current = readCsv(kDir + "small_current.csv");
        QVERIFY(reference.ok() && current.ok());
        DriftDatasetOptions options;
        options.columns = {"num_shift", "cat_multi"};
        options.methods["num_shift"] = DriftMethod::Psi;
        options.thresholds["num_shift"] = 1e9; // nothing drifts above this
        options.thresholds["cat_multi"] = 1e-300;
        auto report = runDrift(*reference, *current, options);
        QVERIFY(report.ok());
        QCOMPARE(report->columns.size(), std::size_t(2));
        QCOMPARE(report->columns[0].method, DriftMethod::Psi);
        QCOMPARE(report->columns[0].threshold, 1e9);
        QVERIFY(!report->columns[0].drifted);
        QCOMPARE(report->columns[1].method, DriftMethod::ChiSquare);
        QVERIFY(!report->columns[1].drifted); // p < 1e-300 is false
        options.columns = {"no_such_column"};
        QVERIFY(!runDrift(*reference, *current, options).ok());
    }

    void windowsMatchReferences()
    {
        Json expected = loadJson("expected_drift.json")["windows"];
        for (const bool time : {true, false}) {
            DriftDatasetOptions options;
            options.windowColumn = expected["window_column"];
            options.window = expected[time ? "time_window" : "row_window"];
            auto report = runDrift(kDir + expected["reference"].get<std::string>(),
                                   kDir + expected["current"].get<std::string>(), options);
            QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
            QCOMPARE(report->windowKind, std::string(time ? "time" : "rows"));
            const auto &windows = expected[time ? "time_windows" : "row_windows"];
            QCOMPARE(report->windows.size(), windows.size());
            for (std::size_t w = 0; w < windows.size(); ++w) {
                const auto &got = report->windows[w];
                QCOMPARE(got.start, windows[w]["start"].get<std::string>());
                QCOMPARE(got.end, windows[w]["end"].get<std::string>());
                QCOMPARE(got.rows, windows[w]["rows"].get<std::size_t>());
                CHECK_CLOSE(got.summary.shareDrifted, windows[w]["share_drifted"].get<double>(),
                            1e-12, nullptr, "window share");
                for (std::size_t c = 0; c < got.columns.size(); ++c) {
                    const auto &want = windows[w]["columns"][c];
                    const auto &m = want["methods"][want["auto_method"].get<std::string>()];
                    QCOMPARE(std::string(driftMethodName(got.columns[c].method)),
                             want["auto_method"].get<std::string>());
                    CHECK_CLOSE(got.columns[c].statistic, asNumber(m["statistic"]), 1e-9,
                                &g_worstClosedForm, "window statistic");
                    if (!m["p_value"].is_null())
                        CHECK_CLOSE(*got.columns[c].pValue, asNumber(m["p_value"]), 1e-6,
                                    &g_worstPValue, "window p-value");
                }
            }
        }
        QVERIFY(!parseWindowSpec("7x").ok());
        QVERIFY(!parseWindowSpec("0").ok());
        QCOMPARE(parseWindowSpec("2w")->seconds, 14.0 * 86400);
    }

    void piiDetectors_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("value");
        QTest::addColumn<bool>("matches");
        Json pii = loadJson("expected_drift.json")["pii"];
        for (const auto &[kind, examples] : pii.items())
            for (const char *polarity : {"positive", "negative"})
                for (const auto &value : examples[polarity]) {
                    std::string row = kind + ":" + value.get<std::string>();
                    QTest::newRow(row.c_str()) << QString::fromStdString(kind)
                                               << QString::fromStdString(value.get<std::string>())
                                               << (std::string(polarity) == "positive");
                }
    }

    void piiDetectors()
    {
        QFETCH(QString, kind);
        QFETCH(QString, value);
        QFETCH(bool, matches);
        bool found = false;
        for (PiiKind k : kAllPiiKinds)
            if (kind.toStdString() == piiKindName(k)) {
                QCOMPARE(matchesPii(k, value.toStdString()), matches);
                found = true;
            }
        QVERIFY(found);
        QVERIFY(luhnValid("79927398713"));
        QVERIFY(!luhnValid("79927398710"));
    }

    void qualityMatchesPython()
    {
        Json expected = loadJson("expected_drift.json")["quality"];
        QualityOptions options;
        options.label = expected["label"];
        options.csv.batchBytes = 4096; // many chunks: exercises the streamed path
        auto report = analyzeQuality(kDir + expected["data"].get<std::string>(), options);
        QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
        QCOMPARE(report->rows, expected["rows"].get<std::size_t>());
        QCOMPARE(report->duplicateRows, expected["duplicate_rows"].get<std::size_t>());
        QCOMPARE(report->labelConflictGroups,
                 expected["label_conflicts"]["groups"].get<std::size_t>());
        QCOMPARE(report->labelConflictRows, expected["label_conflicts"]["rows"].get<std::size_t>());
        QCOMPARE(report->classBalance.size(), expected["class_balance"].size());
        for (std::size_t i = 0; i < report->classBalance.size(); ++i) {
            QCOMPARE(report->classBalance[i].label,
                     expected["class_balance"][i]["label"].get<std::string>());
            QCOMPARE(report->classBalance[i].count,
                     expected["class_balance"][i]["count"].get<std::size_t>());
        }
        QCOMPARE(report->columns.size(), expected["columns"].size());
        for (std::size_t c = 0; c < report->columns.size(); ++c) {
            const auto &got = report->columns[c];
            const auto &want = expected["columns"][c];
            QCOMPARE(got.name, want["name"].get<std::string>());
            QCOMPARE(got.type, want["type"].get<std::string>());
            QCOMPARE(got.missing, want["missing"].get<std::size_t>());
            CHECK_CLOSE(got.missingShare, want["missing_share"].get<double>(), 1e-12, nullptr,
                        got.name);
            QCOMPARE(got.unique, want["unique"].get<std::size_t>());
            QCOMPARE(got.constant, want["constant"].get<bool>());
            if (want.contains("mean")) {
                QCOMPARE(*got.min, want["min"].get<double>());
                QCOMPARE(*got.max, want["max"].get<double>());
                CHECK_CLOSE(*got.mean, want["mean"].get<double>(), 1e-9, &g_worstClosedForm,
                            got.name);
            }
        }
        auto piiShare = [&](const std::string &column, const std::string &kind) {
            for (const auto &c : report->columns)
                if (c.name == column)
                    for (const auto &p : c.pii)
                        if (p.kind == kind)
                            return p.share;
            return -1.0;
        };
        CHECK_CLOSE(piiShare("email", "email"), expected["pii"]["email"].get<double>(), 1e-12,
                    nullptr, "email");
        CHECK_CLOSE(piiShare("card", "credit_card"), expected["pii"]["credit_card"].get<double>(),
                    1e-12, nullptr, "card");
        QCOMPARE(piiShare("city", "email"), -1.0);

        // Row hashes partitioned into temporary files (a tiny memory limit)
        // count the same duplicates and conflicts.
        QualityOptions spilled = options;
        spilled.memoryLimit = 1;
        auto partitioned = analyzeQuality(kDir + expected["data"].get<std::string>(), spilled);
        QVERIFY(partitioned.ok());
        QCOMPARE(partitioned->duplicateRows, report->duplicateRows);
        QCOMPARE(partitioned->labelConflictGroups, report->labelConflictGroups);
        QCOMPARE(partitioned->labelConflictRows, report->labelConflictRows);

        auto leakage = findLeakage(kDir + expected["train"].get<std::string>(),
                                   kDir + expected["test"].get<std::string>(), options);
        QVERIFY(leakage.ok());
        QCOMPARE(leakage->testRowsInTrain,
                 expected["leakage"]["test_rows_in_train"].get<std::size_t>());
        QCOMPARE(leakage->testRows, expected["leakage"]["test_rows"].get<std::size_t>());
        CHECK_CLOSE(leakage->share, expected["leakage"]["share"].get<double>(), 1e-12, nullptr,
                    "leakage");
    }

    void memorySizes_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qulonglong>("bytes"); // 0: rejected
        QTest::newRow("bytes") << "100000000" << qulonglong(100000000);
        QTest::newRow("M") << "800M" << qulonglong(800ULL << 20);
        QTest::newRow("G fraction") << "1.5G" << qulonglong(3ULL << 29);
        QTest::newRow("GiB") << "2GiB" << qulonglong(2ULL << 30);
        QTest::newRow("too small") << "10M" << qulonglong(0);
        QTest::newRow("unit") << "5T" << qulonglong(0);
        QTest::newRow("text") << "lots" << qulonglong(0);
        QTest::newRow("negative") << "-1G" << qulonglong(0);
    }

    void memorySizes()
    {
        QFETCH(QString, text);
        QFETCH(qulonglong, bytes);
        auto parsed = parseMemorySize(text.toStdString());
        QCOMPARE(parsed.ok(), bytes != 0);
        if (bytes != 0)
            QCOMPARE(qulonglong(*parsed), bytes);
        else
            QVERIFY(parsed.error().message.find(text.toStdString()) != std::string::npos);
        QVERIFY(defaultMemoryLimit() >= (std::size_t(256) << 20));
    }

    void badColumnsGiveDiagnostics()
    {
        QTemporaryDir dir;
        QString path = dir.filePath("bad.csv");
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("good,empty,allnan,mixed\n1,,nan,1\n2,,nan,x\n3,,nan,2\n");
        file.close();
        auto report = analyzeQuality(path.toStdString());
        QVERIFY(report.ok());
        QCOMPARE(report->columns.size(), std::size_t(4));
        QVERIFY(report->columns[0].diagnostic.empty());
        QCOMPARE(report->columns[0].unique, std::size_t(3));
        QCOMPARE(report->columns[1].diagnosticKind, std::string("empty"));
        QCOMPARE(report->columns[2].diagnosticKind, std::string("all_nan"));
        QCOMPARE(report->columns[3].diagnosticKind, std::string("mixed_types"));
        // Drift of the same file against itself: the empty columns are diagnosed, the rest tested.
        auto drift = runDrift(path.toStdString(), path.toStdString(), DriftDatasetOptions{});
        QVERIFY(drift.ok());
        int tested = 0, diagnosed = 0;
        for (const auto &c : drift->columns)
            (c.error.empty() ? tested : diagnosed)++;
        QCOMPARE(tested, 2);
        QCOMPARE(diagnosed, 2);
        QVERIFY(!drift->summary.datasetDrift);
    }

    void cliJsonAndExitCodes()
    {
        QProcess cli;
        cli.start(SB_CLI_PATH,
                  {"drift", "--reference", QString::fromStdString(kDir + "small_reference.csv"),
                   "--current", QString::fromStdString(kDir + "small_current.csv"), "--method",
                   "num_same=psi", "--json"});
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 0);
        Json out = Json::parse(cli.readAllStandardOutput().toStdString());
        for (const char *key :
             {"columns", "drifted_columns", "share_drifted", "dataset_drift", "windows"})
            QVERIFY2(out.contains(key), key);
        for (const char *key :
             {"name", "type", "method", "statistic", "p_value", "threshold", "drifted", "bins"})
            QVERIFY2(out["columns"][0].contains(key), key);
        QCOMPARE(out["columns"][1]["method"].get<std::string>(), std::string("psi"));
        QCOMPARE(out["columns"][1]["bins"]["kind"].get<std::string>(), std::string("sturges"));

        cli.start(SB_CLI_PATH,
                  {"quality", "--data", QString::fromStdString(kDir + "quality_data.csv"),
                   "--train", QString::fromStdString(kDir + "quality_train.csv"), "--test",
                   QString::fromStdString(kDir + "quality_test.csv"), "--label", "label",
                   "--json"});
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 0);
        out = Json::parse(cli.readAllStandardOutput().toStdString());
        for (const char *key :
             {"rows", "columns", "duplicate_rows", "class_balance", "leakage", "label_conflicts"})
            QVERIFY2(out.contains(key), key);
        QVERIFY(out["leakage"].contains("test_rows_in_train"));
        QVERIFY(out["leakage"].contains("share"));
        for (const char *key : {"name", "type", "missing", "missing_share", "unique", "constant",
                                "min", "max", "mean", "pii"})
            QVERIFY2(out["columns"][0].contains(key), key);

        // Bad data: exit 2 naming file, line and column.
        QTemporaryDir dir;
        QString bad = dir.filePath("broken.csv");
        QFile file(bad);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("a,b\n1,2\n3,\"unterminated\n");
        file.close();
        cli.start(SB_CLI_PATH, {"quality", "--data", bad, "--json"});
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 2);
        QString err = cli.readAllStandardError();
        QVERIFY2(err.contains("broken.csv:3"), qPrintable(err));
        QVERIFY(cli.readAllStandardOutput().isEmpty());
        cli.start(SB_CLI_PATH, {"drift", "--reference", bad, "--current", bad});
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 2);
        cli.start(SB_CLI_PATH,
                  {"drift", "--reference", QString::fromStdString(kDir + "small_reference.csv"),
                   "--current", QString::fromStdString(kDir + "small_current.csv"), "--method",
                   "num_same=bogus"});
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 2);
    }

    void cleanupTestCase()
    {
        qInfo("worst relative error vs scipy: closed forms %.3g, p-values %.3g", g_worstClosedForm,
              g_worstPValue);
        QVERIFY(g_worstClosedForm <= 1e-9);
        QVERIFY(g_worstPValue <= 1e-6);
    }
};

QTEST_GUILESS_MAIN(TestEvalDrift)
#include "test_eval_drift.moc"
