// `predict` and `eval --model` through the CLI, on the demo classifier.
// Reference: the demo CSV's `score` column, P(malignant) computed by PyTorch
// from exactly the values in the file (resources/demo/make_demo.py).
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

const QString kDemo = QStringLiteral(SB_SOURCE_DIR "/resources/demo/");

struct Run
{
    int exitCode = -1;
    QByteArray out, err;
};

Run cli(const QStringList &arguments)
{
    QProcess process;
    process.start(QStringLiteral(SB_CLI_PATH), arguments);
    Run run;
    if (!process.waitForFinished(100000)) {
        process.kill();
        process.waitForFinished();
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}

// The demo CSVs have no quoted fields.
std::vector<std::vector<std::string>> readRows(const QString &path)
{
    std::ifstream file(path.toStdString());
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(file, line)) {
        std::vector<std::string> fields;
        std::stringstream stream(line);
        std::string field;
        while (std::getline(stream, field, ','))
            fields.push_back(field);
        if (!line.empty() && line.back() == ',')
            fields.emplace_back();
        rows.push_back(fields);
    }
    return rows;
}

int indexOf(const std::vector<std::string> &header, const std::string &name)
{
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name)
            return static_cast<int>(i);
    return -1;
}

// The 30 model features: the columns between patient_age and label.
QString featureList(const std::vector<std::string> &header)
{
    QStringList names;
    for (int i = indexOf(header, "patient_age") + 1; i < indexOf(header, "label"); ++i)
        names << QString::fromStdString(header[static_cast<std::size_t>(i)]);
    return names.join(',');
}

} // namespace

class TestPredict : public QObject
{
    Q_OBJECT

private slots:
    void predictMatchesPyTorchScores()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("pred.csv");
        const auto input = readRows(kDemo + "current.csv");
        const QString features = featureList(input[0]);
        QCOMPARE(features.count(',') + 1, 30);
        Run run = cli({"predict", kDemo + "classifier.onnx", "--data", kDemo + "current.csv",
                       "--features", features, "--out", out, "--batch-rows", "50", "--json"});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const QJsonObject summary = QJsonDocument::fromJson(run.out).object();
        QCOMPARE(summary["rows"].toInt(), 167);
        QCOMPARE(summary["output"].toString(), QString("probabilities"));

        const auto rows = readRows(out);
        QCOMPARE(rows.size(), input.size());
        const auto &header = rows[0];
        QCOMPARE(header.size(), input[0].size() + 3);
        const int prediction = indexOf(header, "prediction");
        const int proba0 = indexOf(header, "proba_0");
        const int proba1 = indexOf(header, "proba_1");
        QCOMPARE(prediction, static_cast<int>(input[0].size()));
        QCOMPARE(proba0, prediction + 1);
        QCOMPARE(proba1, prediction + 2);
        const int score = indexOf(header, "score");
        const int pred = indexOf(header, "pred");
        double maxError = 0;
        for (std::size_t r = 1; r < rows.size(); ++r) {
            // Input columns are copied verbatim.
            for (std::size_t c = 0; c < input[r].size(); ++c)
                QCOMPARE(rows[r][c], input[r][c]);
            const double p1 = std::stod(rows[r][static_cast<std::size_t>(proba1)]);
            const double p0 = std::stod(rows[r][static_cast<std::size_t>(proba0)]);
            const double reference = std::stod(rows[r][static_cast<std::size_t>(score)]);
            maxError = std::max(maxError, std::fabs(p1 - reference));
            QVERIFY(std::fabs(p0 + p1 - 1) < 1e-5);
            QCOMPARE(rows[r][static_cast<std::size_t>(prediction)],
                     std::string(p1 > p0 ? "1" : "0"));
            QCOMPARE(rows[r][static_cast<std::size_t>(prediction)],
                     rows[r][static_cast<std::size_t>(pred)]);
        }
        qInfo("max |proba_1 - score| over 167 rows: %.3g", maxError);
        QVERIFY2(maxError <= 1e-5, qPrintable(QString::number(maxError)));
    }

    // The same predictions when the model runs pipelined as a plan says.
    void predictWithPlan()
    {
        QTemporaryDir dir;
        const QString plan = dir.filePath("plan.json");
        Run planned = cli({"plan", kDemo + "classifier.onnx", "--devices", "cpu:0,cpu:1",
                           "--cpu-devices", "2", "--out", plan});
        QVERIFY2(planned.exitCode == 0, planned.err.constData());
        const auto input = readRows(kDemo + "current.csv");
        const QString out = dir.filePath("pred.csv");
        Run run = cli({"predict", kDemo + "classifier.onnx", "--data", kDemo + "current.csv",
                       "--features", featureList(input[0]), "--plan", plan, "--microbatches", "1",
                       "--out", out});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const auto rows = readRows(out);
        QCOMPARE(rows.size(), input.size());
        const int proba1 = indexOf(rows[0], "proba_1");
        const int score = indexOf(rows[0], "score");
        QVERIFY(proba1 > 0);
        for (std::size_t r = 1; r < rows.size(); ++r)
            QVERIFY(std::fabs(std::stod(rows[r][static_cast<std::size_t>(proba1)]) -
                              std::stod(rows[r][static_cast<std::size_t>(score)])) <= 1e-5);
    }

    void evalModelMatchesEvalScore()
    {
        const auto input = readRows(kDemo + "current.csv");
        const QString features = featureList(input[0]);
        const QStringList common{"eval",    "--data", kDemo + "current.csv",
                                 "--label", "label",  "--bootstrap",
                                 "0",       "--json"};
        Run fromScore = cli(common + QStringList{"--score", "score"});
        Run fromModel =
            cli(common + QStringList{"--model", kDemo + "classifier.onnx", "--features", features});
        QVERIFY2(fromScore.exitCode == 0, fromScore.err.constData());
        QVERIFY2(fromModel.exitCode == 0, fromModel.err.constData());
        const QJsonObject a = QJsonDocument::fromJson(fromScore.out).object()["overall"].toObject();
        const QJsonObject b = QJsonDocument::fromJson(fromModel.out).object()["overall"].toObject();
        QVERIFY(a.contains("accuracy"));
        QCOMPARE(b["accuracy"].toDouble(), a["accuracy"].toDouble());
        QCOMPARE(b["f1_macro"].toDouble(), a["f1_macro"].toDouble());
        QVERIFY(std::fabs(b["roc_auc"].toDouble() - a["roc_auc"].toDouble()) < 1e-9);
        QVERIFY(std::fabs(b["log_loss"].toDouble() - a["log_loss"].toDouble()) < 1e-4);
    }

    // `eval --db --model` records as the Evaluation page does
    // (workflows::recordEvaluation): the model registered with its producer,
    // the evaluation attached to that version, a checklist started.
    void evalDbRecordsLikeTheWorkbench()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("eval.db");
        const QString features = featureList(readRows(kDemo + "current.csv")[0]);
        Run stored =
            cli({"eval", "--data", kDemo + "current.csv", "--label", "label", "--bootstrap", "0",
                 "--model", kDemo + "classifier.onnx", "--features", features, "--db", db});
        QVERIFY2(stored.exitCode == 0, stored.err.constData());
        QVERIFY2(stored.err.contains("registered classifier:1") &&
                     stored.err.contains("started checklist evaluation-completeness"),
                 stored.err.constData());
        Run shown = cli({"registry", "show", "classifier:1", "--json", "--db", db});
        QVERIFY2(shown.exitCode == 0, shown.err.constData());
        const QJsonObject version = QJsonDocument::fromJson(shown.out).object();
        QCOMPARE(version["producer"].toString(), QString("pytorch 1.13.0"));
        Run checklist = cli({"checklist", "show", "classifier:1", "--json", "--db", db});
        QVERIFY2(checklist.exitCode == 0, checklist.err.constData());
        QVERIFY(checklist.out.contains("evaluation-completeness"));
        // Again: the same version, no second registration or checklist.
        Run again =
            cli({"eval", "--data", kDemo + "current.csv", "--label", "label", "--bootstrap", "0",
                 "--model", kDemo + "classifier.onnx", "--features", features, "--db", db});
        QVERIFY2(again.exitCode == 0 && !again.err.contains("registered") &&
                     !again.err.contains("started checklist"),
                 again.err.constData());
    }

    void badFeatures_data()
    {
        QTest::addColumn<QString>("replace");
        QTest::addColumn<QString>("with");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown column") << "mean_radius"
                                        << "mean_radiuss"
                                        << "mean_radiuss";
        QTest::newRow("categorical column") << "mean_radius"
                                            << "site"
                                            << "site";
        QTest::newRow("too few features") << "mean_radius,"
                                          << ""
                                          << "takes 30 features";
    }
    void badFeatures()
    {
        QFETCH(QString, replace);
        QFETCH(QString, with);
        QFETCH(QString, message);
        QTemporaryDir dir;
        QString features = featureList(readRows(kDemo + "current.csv")[0]);
        features.replace(replace, with);
        Run run = cli({"predict", kDemo + "classifier.onnx", "--data", kDemo + "current.csv",
                       "--features", features, "--out", dir.filePath("pred.csv")});
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(message.toUtf8()), run.err.constData());
        QVERIFY(!QFile::exists(dir.filePath("pred.csv")));
    }

    void missingValueNamesLineAndColumn()
    {
        QTemporaryDir dir;
        auto rows = readRows(kDemo + "current.csv");
        const int column = indexOf(rows[0], "worst_texture");
        rows[4][static_cast<std::size_t>(column)].clear(); // physical line 5
        const QString data = dir.filePath("holes.csv");
        {
            std::ofstream file(data.toStdString());
            for (const auto &row : rows) {
                for (std::size_t c = 0; c < row.size(); ++c)
                    file << (c ? "," : "") << row[c];
                file << "\n";
            }
        }
        Run run = cli({"predict", kDemo + "classifier.onnx", "--data", data, "--features",
                       featureList(rows[0]), "--out", dir.filePath("pred.csv")});
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains("holes.csv:5: column 'worst_texture'"), run.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestPredict)
#include "test_predict.moc"
