// The Evaluation page's Robustness and Risks sections: the item models (with
// QAbstractItemModelTester) on hand-made and on computed reports, and the
// panel running the checks off the GUI thread on the demo classifier.
#include "ui/common/task_runner.h"
#include "ui/eval/charts.h"
#include "ui/eval/risk_backend.h"
#include "ui/eval/risk_models.h"
#include "ui/eval/risk_panel.h"

#include <QAbstractItemModelTester>
#include <QChart>
#include <QChartView>
#include <QLineEdit>
#include <QLineSeries>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using nlohmann::json;
using namespace sb::ui;

namespace {

const QString kDemo = QStringLiteral(SB_SOURCE_DIR "/resources/demo/");

QStringList demoFeatures()
{
    std::ifstream in((kDemo + "current.csv").toStdString());
    std::string line;
    std::getline(in, line);
    const QStringList header = QString::fromStdString(line).split(',');
    return header.mid(header.indexOf("patient_age") + 1,
                      header.indexOf("label") - header.indexOf("patient_age") - 1);
}

int seriesPoints(QChartView *view)
{
    int points = 0;
    for (QAbstractSeries *series : view->chart()->series())
        if (auto *xy = qobject_cast<QXYSeries *>(series))
            points += int(xy->count());
    return points;
}

} // namespace

class TestUiEvalRisk : public QObject
{
    Q_OBJECT

private slots:
    void curveModel_data()
    {
        QTest::addColumn<QString>("report");
        QTest::addColumn<int>("rows");
        QTest::addColumn<QString>("noiseAccuracyAt01");
        QTest::newRow("empty") << "{}" << 0 << "";
        QTest::newRow("two points")
            << R"({"curves": [{"perturbation": "noise", "strength": 0, "metrics": {"accuracy": 0.9, "roc_auc": 0.95}, "drop": {"accuracy": 0}, "mean_proba_change": 0},
                              {"perturbation": "noise", "strength": 0.1, "metrics": {"accuracy": 0.85, "roc_auc": null}, "drop": {"accuracy": 0.05}, "mean_proba_change": 0.02}]})"
            << 2 << "0.8500";
    }
    void curveModel()
    {
        QFETCH(QString, report);
        QFETCH(int, rows);
        QFETCH(QString, noiseAccuracyAt01);
        RobustnessCurveModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setReport(json::parse(report.toStdString()));
        QCOMPARE(model.rowCount(), rows);
        if (rows) {
            QCOMPARE(model.index(1, RobustnessCurveModel::Accuracy).data().toString(),
                     noiseAccuracyAt01);
            QCOMPARE(model.index(1, RobustnessCurveModel::RocAuc).data().toString(),
                     QStringLiteral("—"));
            QCOMPARE(model.curve("noise").size(), 2);
            QCOMPARE(model.curve("noise").back(), QPointF(0.1, 0.85));
            QCOMPARE(model.perturbations(), QStringList{"noise"});
        }
    }

    // The backend on the demo classifier and its training split, then every
    // model on the computed reports.
    void computedReports()
    {
        RiskRequest request;
        request.modelPath = kDemo + "classifier.onnx";
        request.dataPath = kDemo + "current.csv";
        request.trainPath = kDemo + "train.csv";
        request.labelColumn = "label";
        request.features = demoFeatures();
        sb::CancelToken cancel;
        auto reports = runRiskChecks(request, {}, cancel);
        QVERIFY2(reports.ok(), reports.ok() ? "" : reports.error().message.c_str());
        QVERIFY(reports->storedFor.isEmpty());

        RobustnessCurveModel curves;
        SensitivityModel sensitivity;
        LabelIssuesModel issues;
        MiaModel mia;
        QAbstractItemModelTester t1(&curves,
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t2(&sensitivity,
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t3(&issues,
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t4(&mia, QAbstractItemModelTester::FailureReportingMode::QtTest);
        curves.setReport(reports->robustness);
        sensitivity.setReport(reports->robustness);
        issues.setReport(reports->poisoning);
        mia.setReport(reports->privacy);
        QCOMPARE(curves.rowCount(), int(reports->robustness["curves"].size()));
        QCOMPARE(sensitivity.rowCount(), 30);
        QCOMPARE(sensitivity.index(0, 0).data().toInt(), 1);
        QCOMPARE(issues.rowCount(), int(reports->poisoning["rows"].size()));
        QCOMPARE(reports->poisoning["summary"]["rows"].get<int>(), 190); // the training split
        QCOMPARE(mia.rowCount(), 2);
        QCOMPARE(mia.attack(0), QStringLiteral("loss_threshold"));
        QVERIFY(mia.roc(0).size() > 2);
        QVERIFY(!mia.reading().isEmpty());
        if (issues.rowCount() > 0)
            QCOMPARE(issues.index(0, 0).data().toLongLong(),
                     reports->poisoning["rows"][0]["row"].get<qint64>());
    }

    // The panel: the button asks the page for a request; run() works off the
    // GUI thread and fills charts and tables.
    void panelRunsOffTheGuiThread()
    {
        TaskRunner tasks;
        RiskPanel panel(&tasks);
        panel.resize(1200, 900);
        panel.show();
        QSignalSpy requested(&panel, &RiskPanel::runRequested);
        panel.findChild<QPushButton *>("riskButton")->click();
        QCOMPARE(requested.size(), 1);
        panel.setTrainingPath(kDemo + "train.csv");
        panel.setFeatures(demoFeatures());
        RiskRequest request;
        request.modelPath = kDemo + "classifier.onnx";
        request.dataPath = kDemo + "current.csv";
        request.labelColumn = "label";
        QSignalSpy shown(&panel, &RiskPanel::reportsShown);
        panel.run(request);
        QVERIFY(panel.status().contains("Running")); // returned at once
        QVERIFY(shown.wait(60000));
        QVERIFY(panel.curveModel()->rowCount() > 0);
        QVERIFY(seriesPoints(panel.robustnessChart()) > 3);
        QCOMPARE(panel.sensitivityChart()->bars().size(), 15);
        QCOMPARE(panel.miaModel()->rowCount(), 2);
        QVERIFY(seriesPoints(panel.rocChart()) > 4);
        QVERIFY(panel.status().contains("not stored"));

        // Bad input: an error message, no crash.
        QSignalSpy failed(&panel, &RiskPanel::errorOccurred);
        request.labelColumn = "no_such_column";
        panel.run(request);
        QVERIFY(failed.wait(60000));
        QVERIFY(failed.back().front().toString().contains("no_such_column"));
    }
};

QTEST_MAIN(TestUiEvalRisk)
#include "test_ui_eval_risk.moc"
