// The Evaluation page's report parsing and item models: parseEvalReport on
// reports core/eval computed (the page shows the intervals the core writes,
// report.ci), on partial and mistyped JSON; the table models under
// QAbstractItemModelTester; the page fed a computed report.
#include "core/eval/csv.h"
#include "core/eval/evaluation.h"
#include "core/eval/metric_definitions.h"
#include "ui/common/task_runner.h"
#include "ui/eval/eval_page.h"
#include "ui/eval/eval_results.h"

#include <QAbstractItemModelTester>
#include <QTest>

#include <cmath>

using namespace sb;
using namespace sb::ui;
using nlohmann::json;

namespace {

const std::string kEvalData = SB_TESTDATA_DIR "/eval/";

// A report as `shardbench-cli eval --json` writes it, with bootstrap CIs and
// two user slices.
json computedReport(const std::string &file, bool regression = false)
{
    auto table = eval::readCsv(kEvalData + file);
    if (!table.ok())
        return json();
    eval::EvalSpec spec;
    if (regression) {
        spec.label = "target";
        spec.pred = "yhat";
    } else {
        spec.label = "label";
        spec.score = "score";
    }
    spec.bootstrap = 40;
    spec.slices = regression ? std::vector<std::string>{"positive x: x > 0", "negative x: x <= 0"}
                             : std::vector<std::string>{"south: site == south", "old: age > 50"};
    auto report = eval::evaluate(*table, spec);
    return report.ok() ? report->json : json();
}

bool sameNumber(double a, const json &b)
{
    return b.is_number() ? a == b.get<double>() : std::isnan(a);
}

} // namespace

class TestUiEval : public QObject
{
    Q_OBJECT

private slots:
    // Every overall metric row carries the interval the core wrote in
    // report.ci (the page once read an "overall_ci" key nothing writes).
    void overallIntervalsAreTheCoresCi_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("regression");
        QTest::newRow("binary") << "binary_600.csv" << false;
        QTest::newRow("regression") << "regression_900.csv" << true;
    }
    void overallIntervalsAreTheCoresCi()
    {
        QFETCH(QString, file);
        QFETCH(bool, regression);
        const json report = computedReport(file.toStdString(), regression);
        QVERIFY(report.is_object());
        QVERIFY(report["ci"].is_object());
        const EvalResults results = parseEvalReport(report);
        const eval::Task task = regression ? eval::Task::Regression : eval::Task::Classification;
        const auto defs = eval::overallMetrics(task);
        QCOMPARE(results.overall.size(), defs.size());
        int finite = 0;
        for (std::size_t i = 0; i < defs.size(); ++i) {
            const MetricRow &row = results.overall[i];
            const std::string name(defs[i]->name);
            QCOMPARE(row.name.toStdString(), name); // table order
            QCOMPARE(row.direction, defs[i]->direction);
            QVERIFY(!row.description.isEmpty());
            QVERIFY(sameNumber(row.value, report["overall"][name]));
            QVERIFY(sameNumber(row.low, report["ci"][name][0]));
            QVERIFY(sameNumber(row.high, report["ci"][name][1]));
            finite += std::isfinite(row.low) && std::isfinite(row.high) ? 1 : 0;
        }
        QVERIFY(finite >= int(defs.size()) - 2); // a few (ece/mce) may be undefined
        // Slices: the primary metric with its CI.
        QCOMPARE(results.sliceMetric.toStdString(), std::string(eval::primaryMetric(task).name));
        QCOMPARE(results.slices.size(), std::size_t(2));
        const std::string primary = results.sliceMetric.toStdString();
        for (std::size_t i = 0; i < 2; ++i) {
            const json &slice = report["slices"][i];
            QCOMPARE(results.slices[i].name.toStdString(), slice["name"].get<std::string>());
            QVERIFY(sameNumber(results.slices[i].value, slice["metrics"][primary]));
            QVERIFY(sameNumber(results.slices[i].low, slice["ci"][primary][0]));
            QVERIFY(sameNumber(results.slices[i].high, slice["ci"][primary][1]));
        }
    }

    // The page itself: its overall table shows report.ci.
    void pageShowsTheCoresIntervals()
    {
        json report = computedReport("binary_600.csv");
        QVERIFY(report.is_object());
        // A stray key of the old reader must not be what is shown.
        report["overall_ci"] = {{"accuracy", {0.0, 0.0}}};
        TaskRunner tasks;
        EvalPage page(&tasks);
        page.showReports(report, json(), json());
        MetricsTableModel *model = page.overallModel();
        QCOMPARE(model->rowCount(), int(eval::overallMetrics(eval::Task::Classification).size()));
        QCOMPARE(model->index(0, MetricsTableModel::Name).data().toString(),
                 QStringLiteral("accuracy"));
        QCOMPARE(model->index(0, MetricsTableModel::Low).data().toString(),
                 formatMetric(report["ci"]["accuracy"][0].get<double>()));
        QCOMPARE(model->index(0, MetricsTableModel::High).data().toString(),
                 formatMetric(report["ci"]["accuracy"][1].get<double>()));
        QCOMPARE(model->index(0, MetricsTableModel::Low).data(Qt::UserRole).toDouble(),
                 report["ci"]["accuracy"][0].get<double>());
        QVERIFY(model->index(0, MetricsTableModel::Name)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains("higher is better"));
        const int logLoss = 8; // table order: ... average_precision, log_loss
        QCOMPARE(model->index(logLoss, MetricsTableModel::Name).data().toString(),
                 QStringLiteral("log_loss"));
        QVERIFY(model->index(logLoss, MetricsTableModel::Name)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains("lower is better"));
        QCOMPARE(page.slicesModel()->rowCount(), 2);
        QCOMPARE(page.sliceChart()->bars().size(), 2);
        QCOMPARE(page.perClassModel()->rowCount(), 2);
        QCOMPARE(page.slicesModel()->headerData(2, Qt::Horizontal).toString(),
                 QStringLiteral("accuracy"));
    }

    // Partial, empty and mistyped reports parse to what is there; the
    // models stay valid under the tester.
    void modelsOnAnyReport_data()
    {
        QTest::addColumn<QString>("report");
        QTest::addColumn<int>("overall");
        QTest::addColumn<int>("perClass");
        QTest::addColumn<int>("slices");
        QTest::addColumn<int>("weak");
        QTest::addColumn<int>("gates");
        QTest::newRow("null") << "null" << 0 << 0 << 0 << 0 << 0;
        QTest::newRow("empty") << "{}" << 0 << 0 << 0 << 0 << 0;
        QTest::newRow("mistyped")
            << R"({"overall": [1, 2], "per_class": {"a": 1}, "slices": 3, "gates": "x", "ci": 7})"
            << 0 << 0 << 0 << 0 << 0;
        QTest::newRow("no bootstrap")
            << R"({"task": "classification", "overall": {"accuracy": 0.9, "brier": null, "new_metric": 2}, "ci": null,
                  "per_class": [{"label": 1, "precision": 0.5, "recall": null, "f1": 0.1, "support": 4}],
                  "slices": [{"name": "a", "expr": "x > 1", "rows": 3, "metrics": {"accuracy": 1}, "ci": null}],
                  "auto_slices": [{"expr": "x > 2", "rows": 30, "metric": "accuracy", "value": 0.5,
                                   "ci": {"accuracy": [0.4, 0.6]}, "q_value": 0.01}],
                  "gates": [{"expr": "accuracy >= 0.95", "value": 0.9, "passed": false}]})"
            << 3 << 1 << 1 << 1 << 1;
        QTest::newRow("regression")
            << R"({"task": "regression", "overall": {"mape": 0.1, "mae": 1.5, "rmse": 2, "r2": 0.5},
                  "ci": {"mae": [1, 2]}, "slices": [{"name": "s", "rows": 9, "metrics": {"mae": 3}}]})"
            << 4 << 0 << 1 << 0 << 0;
    }
    void modelsOnAnyReport()
    {
        QFETCH(QString, report);
        QFETCH(int, overall);
        QFETCH(int, perClass);
        QFETCH(int, slices);
        QFETCH(int, weak);
        QFETCH(int, gates);
        MetricsTableModel metrics;
        PerClassModel classes;
        SliceTableModel sliceModel;
        KeyedTextModel weakModel;
        using Mode = QAbstractItemModelTester::FailureReportingMode;
        QAbstractItemModelTester t1(&metrics, Mode::QtTest);
        QAbstractItemModelTester t2(&classes, Mode::QtTest);
        QAbstractItemModelTester t3(&sliceModel, Mode::QtTest);
        QAbstractItemModelTester t4(&weakModel, Mode::QtTest);
        // Twice: a second report replaces the first.
        for (int pass = 0; pass < 2; ++pass) {
            const EvalResults r = parseEvalReport(json::parse(report.toStdString()));
            metrics.setRows(r.overall);
            classes.setRows(r.perClass);
            sliceModel.setSlices(r.sliceMetric, r.slices);
            weakModel.setTable(r.weakSliceKeys, r.weakSlices);
            QCOMPARE(metrics.rowCount(), overall);
            QCOMPARE(classes.rowCount(), perClass);
            QCOMPARE(sliceModel.rowCount(), slices);
            QCOMPARE(weakModel.rowCount(), weak);
            QCOMPARE(int(r.gates.size()), gates);
        }
        if (QTest::currentDataTag() == QByteArray("no bootstrap")) {
            // Table order first, then keys the table does not know.
            QCOMPARE(metrics.index(0, 0).data().toString(), QStringLiteral("accuracy"));
            QCOMPARE(metrics.index(1, 0).data().toString(), QStringLiteral("brier"));
            QCOMPARE(metrics.index(1, 1).data().toString(), QStringLiteral("—"));
            QCOMPARE(metrics.index(2, 0).data().toString(), QStringLiteral("new_metric"));
            QCOMPARE(metrics.index(0, MetricsTableModel::Low).data().toString(),
                     QStringLiteral("—"));
            QCOMPARE(classes.index(0, 0).data().toString(), QStringLiteral("1"));
            QCOMPARE(classes.index(0, 2).data().toString(), QStringLiteral("—"));
            QCOMPARE(classes.index(0, 4).data().toString(), QStringLiteral("4"));
            QCOMPARE(weakModel.headerData(0, Qt::Horizontal).toString(), QStringLiteral("expr"));
            const int ci = int(weakModel.headerData(4, Qt::Horizontal).toString() == "ci" ? 4 : -1);
            QCOMPARE(ci, 4);
            QCOMPARE(weakModel.index(0, ci).data().toString(), QStringLiteral("[0.4000, 0.6000]"));
        }
        if (QTest::currentDataTag() == QByteArray("regression")) {
            QCOMPARE(metrics.index(0, 0).data().toString(), QStringLiteral("mae"));
            QCOMPARE(metrics.index(0, MetricsTableModel::High).data().toString(),
                     QStringLiteral("2.0000"));
            QCOMPARE(metrics.index(3, 0).data().toString(), QStringLiteral("mape"));
            QCOMPARE(sliceModel.headerData(2, Qt::Horizontal).toString(), QStringLiteral("mae"));
            QCOMPARE(sliceModel.index(0, 2).data().toString(), QStringLiteral("3.0000"));
        }
    }

    // The drift drill-down and quality tables: parsed from report JSON
    // (partial and mistyped too) into models that pass the tester.
    void driftColumns_data()
    {
        QTest::addColumn<QString>("columns");
        QTest::addColumn<int>("rows");
        QTest::addColumn<QString>("statistic"); // row 0's statistic as shown
        QTest::addColumn<bool>("drifted");      // row 0
        QTest::newRow("two columns")
            << R"([{"name":"age","method":"ks","statistic":0.31,"p_value":0.0001,"threshold":0.05,"drifted":true},
                  {"name":"site","method":"chi2","statistic":2,"p_value":0.4,"threshold":0.05,"drifted":false}])"
            << 2 << "0.31" << true;
        QTest::newRow("integer statistic, no p")
            << R"([{"name":"n","statistic":7}])" << 1 << "7" << false;
        QTest::newRow("mistyped entries skipped")
            << R"([3, "x", {"name":"a","statistic":"high","drifted":"yes"}])" << 1 << "" << false;
        QTest::newRow("not an array") << R"({"name":"a"})" << 0 << "" << false;
    }
    void driftColumns()
    {
        QFETCH(QString, columns);
        QFETCH(int, rows);
        QFETCH(QString, statistic);
        QFETCH(bool, drifted);
        DriftColumnsModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRows(parseDriftColumns(json::parse(columns.toStdString())));
        QCOMPARE(model.rowCount(), rows);
        QCOMPARE(model.columnCount(), 6);
        QCOMPARE(model.headerData(DriftColumnsModel::PValue, Qt::Horizontal).toString(),
                 QStringLiteral("p_value"));
        if (rows == 0)
            return;
        QCOMPARE(model.index(0, DriftColumnsModel::Statistic).data().toString(), statistic);
        QCOMPARE(model.index(0, DriftColumnsModel::Drifted).data(Qt::UserRole).toBool(), drifted);
        QCOMPARE(model.index(0, DriftColumnsModel::Name).data(Qt::ForegroundRole).isValid(),
                 drifted);
        if (statistic.isEmpty())
            QVERIFY(std::isnan(
                model.index(0, DriftColumnsModel::Statistic).data(Qt::UserRole).toDouble()));
        // The drift chart's bars come from the same rows.
        const auto bars = driftColumnBars(parseDriftColumns(json::parse(columns.toStdString())));
        QCOMPARE(bars.size(), rows);
        QCOMPARE(bars[0].flagged, drifted);
        QVERIFY(bars[0].tooltip.contains(statistic));
        model.setRows({});
        QCOMPARE(model.rowCount(), 0);
    }

    void qualityColumns_data()
    {
        QTest::addColumn<QString>("report");
        QTest::addColumn<int>("rows");
        QTest::addColumn<QString>("missingShare"); // row 0
        QTest::addColumn<QString>("pii");          // row 0
        QTest::newRow("pii found")
            << R"({"columns":[{"name":"email","type":"string","missing":2,"missing_share":0.004,"unique":498,
                   "constant":false,"pii":["email"]},{"name":"age","type":"int","min":18,"max":90,"mean":47.25}]})"
            << 2 << "0.004"
            << R"(["email"])";
        QTest::newRow("no pii") << R"({"columns":[{"name":"x","missing_share":0,"pii":[]}]})" << 1
                                << "0"
                                << "";
        QTest::newRow("no columns") << R"({"duplicate_rows":0})" << 0 << ""
                                    << "";
    }
    void qualityColumns()
    {
        QFETCH(QString, report);
        QFETCH(int, rows);
        QFETCH(QString, missingShare);
        QFETCH(QString, pii);
        QualityTableModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRows(parseQualityColumns(json::parse(report.toStdString())));
        QCOMPARE(model.rowCount(), rows);
        QCOMPARE(model.headerData(QualityTableModel::Pii, Qt::Horizontal).toString(),
                 QStringLiteral("pii"));
        if (rows == 0)
            return;
        QCOMPARE(model.index(0, QualityTableModel::MissingShare).data().toString(), missingShare);
        QCOMPARE(model.index(0, QualityTableModel::Pii).data().toString(), pii);
        QCOMPARE(model.index(0, QualityTableModel::Pii).data(Qt::ForegroundRole).isValid(),
                 !pii.isEmpty());
    }

    void confusionRows_data()
    {
        QTest::addColumn<QString>("actual");
        QTest::addColumn<QString>("predicted");
        QTest::addColumn<int>("limit");
        QTest::addColumn<int>("listed");
        QTest::addColumn<int>("matched");
        QTest::newRow("missed positives") << "1"
                                          << "0" << 500 << 2 << 2;
        QTest::newRow("numeric labels compare as numbers") << "1.0"
                                                           << "1" << 500 << 1 << 1;
        QTest::newRow("limit") << "1"
                               << "0" << 1 << 1 << 2;
        QTest::newRow("no such cell") << "2"
                                      << "0" << 500 << 0 << 0;
    }
    void confusionRows()
    {
        QFETCH(QString, actual);
        QFETCH(QString, predicted);
        QFETCH(int, limit);
        QFETCH(int, listed);
        QFETCH(int, matched);
        ConfusionRowsModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        const QStringList header{"id", "label", "pred"};
        QVERIFY(!model.select(actual, predicted)); // no data yet
        model.setDataset(
            header, {{"a", "1", "0"}, {"b", "0", "0"}, {"c", "1", "1"}, {"d", "1", "0"}}, 1, 2);
        QVERIFY(model.select(actual, predicted, limit));
        QCOMPARE(model.rowCount(), listed);
        QCOMPARE(model.matchedCount(), matched);
        QCOMPARE(model.columnCount(), 4);
        QCOMPARE(model.headerData(0, Qt::Horizontal).toString(), QStringLiteral("row"));
        QCOMPARE(model.headerData(3, Qt::Horizontal).toString(), QStringLiteral("pred"));
        if (listed > 0 && actual == "1" && predicted == "0") {
            QCOMPARE(model.index(0, 0).data().toString(), QStringLiteral("1")); // line of "a"
            QCOMPARE(model.index(0, 1).data().toString(), QStringLiteral("a"));
        }
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }

    void reportKinds_data()
    {
        QTest::addColumn<QString>("report");
        QTest::addColumn<int>("kind");
        QTest::newRow("eval") << R"({"overall": {}})" << int(ReportKind::Evaluation);
        QTest::newRow("drift") << R"({"share_drifted": 0.1})" << int(ReportKind::Drift);
        QTest::newRow("drift flag") << R"({"dataset_drift": false})" << int(ReportKind::Drift);
        QTest::newRow("quality") << R"({"duplicate_rows": 0})" << int(ReportKind::Quality);
        QTest::newRow("leakage") << R"({"leakage": {}})" << int(ReportKind::Quality);
        QTest::newRow("other") << R"({"rows": 3})" << int(ReportKind::Unknown);
        QTest::newRow("array") << "[1]" << int(ReportKind::Unknown);
    }
    void reportKinds()
    {
        QFETCH(QString, report);
        QFETCH(int, kind);
        QCOMPARE(int(reportKind(json::parse(report.toStdString()))), kind);
    }
};

QTEST_MAIN(TestUiEval)
#include "test_ui_eval.moc"
