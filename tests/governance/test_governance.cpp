// core/governance and the store-backed CLI commands, end to end: evidence
// rules, checklists and sign-offs, the promotion gate, rollback, audit
// tampering, bad --db files, HTML/PDF reports and the model card schema.
#include "core/common/sha256.h"
#include "core/eval/rules.h"
#include "core/governance/checklist.h"
#include "core/governance/evidence.h"
#include "core/governance/report.h"
#include "core/store/store.h"
#include "json_schema.h"

#include <QtTest>

#include <sqlite3.h>

#include <fstream>

using namespace sb;
using namespace sb::governance;
using sb::eval::Rule;
using sb::eval::Verdict;
using sb::eval::verdictName;
using store::Json;
namespace fs = std::filesystem;

namespace {

Json readJson(const QString &path)
{
    std::ifstream in(path.toStdString());
    return Json::parse(in);
}

QString data(const char *name)
{
    return QString(SB_TESTDATA_DIR) + "/store/" + name;
}

struct CliResult
{
    int exitCode = -1;
    QString out, err;
};

CliResult cli(const QStringList &arguments)
{
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("SHARDBENCH_RESOURCES", QString(SB_SOURCE_DIR) + "/resources");
    env.insert("USER", "tester");
    env.insert("QT_QPA_PLATFORM", "offscreen");
    process.setProcessEnvironment(env);
    process.start(SB_CLI_PATH, arguments);
    process.waitForFinished(120000);
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
            QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
}

QByteArray fileBytes(const QString &path)
{
    QFile file(path);
    file.open(QIODevice::ReadOnly);
    return file.readAll();
}

} // namespace

class TestGovernance : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }
    QString classifier() const
    {
        return QString(SB_SOURCE_DIR) + "/resources/demo/classifier.onnx";
    }

private slots:
    void rules_data()
    {
        QTest::addColumn<QString>("rule");
        QTest::addColumn<QString>("expected"); // pass | fail | unknown
        // metrics: ece = 0.04, accuracy = 0.95, pii_columns = 0
        QTest::newRow("le-pass") << "ece <= 0.05"
                                 << "pass";
        QTest::newRow("le-boundary") << "ece <= 0.04"
                                     << "pass";
        QTest::newRow("lt-fail") << "ece < 0.04"
                                 << "fail";
        QTest::newRow("eq") << "pii_columns == 0"
                            << "pass";
        QTest::newRow("ne") << "pii_columns != 0"
                            << "fail";
        QTest::newRow("and") << "ece <= 0.05 and accuracy >= 0.9"
                             << "pass";
        QTest::newRow("and-fail") << "ece <= 0.05 and accuracy >= 0.96"
                                  << "fail";
        QTest::newRow("or") << "accuracy >= 0.99 or pii_columns == 0"
                            << "pass";
        QTest::newRow("precedence") << "accuracy > 0.99 and ece < 1 or pii_columns == 0"
                                    << "pass";
        QTest::newRow("parens") << "accuracy > 0.99 and (ece < 1 or pii_columns == 0)"
                                << "fail";
        QTest::newRow("missing") << "worst_slice_accuracy >= 0.8"
                                 << "unknown";
        QTest::newRow("missing-and-fail") << "worst_slice_accuracy >= 0.8 and ece > 1"
                                          << "fail";
        QTest::newRow("missing-or-pass") << "worst_slice_accuracy >= 0.8 or ece < 1"
                                         << "pass";
        QTest::newRow("not") << "not ece > 0.05"
                             << "pass";
        QTest::newRow("exponent") << "ece <= 5e-2"
                                  << "pass";
        QTest::newRow("negative") << "ece > -1"
                                  << "pass";
    }
    void rules()
    {
        QFETCH(QString, rule);
        QFETCH(QString, expected);
        auto parsed = Rule::parse(rule.toStdString());
        QVERIFY2(parsed.ok(), parsed.ok() ? "" : parsed.error().message.c_str());
        MetricMap metrics{{"ece", 0.04}, {"accuracy", 0.95}, {"pii_columns", 0}};
        QCOMPARE(QString(verdictName(parsed->evaluate(metrics))), expected);
    }

    void ruleErrors_data()
    {
        QTest::addColumn<QString>("rule");
        QTest::addColumn<QString>("column");
        QTest::newRow("no-op") << "ece 0.05"
                               << "column 5";
        QTest::newRow("bad-op") << "ece = 0.05"
                                << "column 5";
        QTest::newRow("no-number") << "ece <= high"
                                   << "column 8";
        QTest::newRow("dangling-and") << "ece <= 1 and"
                                      << "column 13";
        QTest::newRow("unclosed") << "(ece <= 1"
                                  << "column 10";
        QTest::newRow("garbage") << "ece <= 1 ; drop"
                                 << "column 10";
    }
    void ruleErrors()
    {
        QFETCH(QString, rule);
        QFETCH(QString, column);
        auto parsed = Rule::parse(rule.toStdString());
        QVERIFY(!parsed.ok());
        QString message = QString::fromStdString(parsed.error().message);
        QVERIFY2(message.contains(column) && message.contains(rule), qPrintable(message));
    }

    // Metric names derived from real `eval`/`quality`/`drift --json` outputs,
    // checked against values read independently from the same files.
    void evidenceMetricsFromStoredResults()
    {
        Json evaluation = readJson(data("eval_demo.json"));
        Json quality = readJson(data("quality_demo.json"));
        Json drift = readJson(data("drift_demo.json"));
        MetricMap metrics = deriveMetrics(evaluation, quality, drift, false);
        QCOMPARE(metrics["accuracy"], evaluation["overall"]["accuracy"].get<double>());
        QCOMPARE(metrics["ece"], evaluation["calibration"]["ece"].get<double>());
        double worst = 1;
        for (const auto &slice : evaluation["slices"])
            worst = std::min(worst, slice["metrics"]["accuracy"].get<double>());
        QCOMPARE(metrics["worst_slice_accuracy"], worst);
        QCOMPARE(metrics["slice_count"], double(evaluation["slices"].size()));
        QCOMPARE(metrics["has_calibration"], 1.0);
        int pii = 0;
        for (const auto &column : quality["columns"])
            pii += (column.contains("pii") && !column["pii"].is_null() && !column["pii"].empty())
                       ? 1
                       : 0;
        QCOMPARE(metrics["pii_columns"], double(pii));
        QCOMPARE(metrics["share_drifted"], drift["share_drifted"].get<double>());
        QCOMPARE(metrics["dataset_drift"], drift["dataset_drift"].get<bool>() ? 1.0 : 0.0);
        QCOMPARE(metrics["has_run"], 0.0);
        // The worst slice of an error-like metric (lower is better in the
        // metric table) is its maximum.
        const Json sliced = {
            {"slices",
             {{{"rows", 10}, {"metrics", {{"accuracy", 0.9}, {"ece", 0.1}, {"mae", 2.0}}}},
              {{"rows", 5}, {"metrics", {{"accuracy", 0.8}, {"ece", 0.3}, {"mae", 1.0}}}}}}};
        MetricMap sliceWorst = deriveMetrics(sliced, Json(), Json());
        QCOMPARE(sliceWorst["worst_slice_accuracy"], 0.8);
        QCOMPARE(sliceWorst["worst_slice_ece"], 0.3);
        QCOMPARE(sliceWorst["worst_slice_mae"], 2.0);
        QCOMPARE(sliceWorst["min_slice_rows"], 5.0);
        MetricMap empty = deriveMetrics(Json(), Json(), Json());
        QCOMPARE(empty.count("accuracy"), std::size_t(0));
        QCOMPARE(empty["has_evaluation"], 0.0);
    }

    // Checklist item statuses are an enum; names only at the JSON/database
    // boundary.
    void itemStatusNames_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("satisfied");
        QTest::newRow("open") << int(store::ItemStatus::Open) << "open" << false;
        QTest::newRow("passed") << int(store::ItemStatus::Passed) << "passed" << true;
        QTest::newRow("failing") << int(store::ItemStatus::Failing) << "failing" << false;
        QTest::newRow("approved") << int(store::ItemStatus::Approved) << "approved" << true;
        QTest::newRow("rejected") << int(store::ItemStatus::Rejected) << "rejected" << false;
        QTest::newRow("needs_work") << int(store::ItemStatus::NeedsWork) << "needs_work" << false;
    }
    void itemStatusNames()
    {
        QFETCH(int, status);
        QFETCH(QString, name);
        QFETCH(bool, satisfied);
        const auto typed = store::ItemStatus(status);
        QCOMPARE(QString(store::itemStatusName(typed)), name);
        QCOMPARE(store::parseItemStatus(name.toStdString()), std::optional(typed));
        QCOMPARE(store::itemStatusSatisfied(typed), satisfied);
        QVERIFY(!store::parseItemStatus(name.toUpper().toStdString()));
    }
    void decisionsSetStatuses()
    {
        QCOMPARE(statusForDecision("approve"), std::optional(store::ItemStatus::Approved));
        QCOMPARE(statusForDecision("reject"), std::optional(store::ItemStatus::Rejected));
        QCOMPARE(statusForDecision("needs_work"), std::optional(store::ItemStatus::NeedsWork));
        QVERIFY(!statusForDecision("approved"));
        QVERIFY(!statusForDecision(""));
    }

    void bundledTemplatesAreValid()
    {
        qputenv("SHARDBENCH_RESOURCES", QByteArray(SB_SOURCE_DIR) + "/resources");
        std::vector<std::string> problems;
        auto templates = loadTemplates(&problems);
        QVERIFY2(problems.empty(), problems.empty() ? "" : problems.front().c_str());
        QStringList ids;
        for (const auto &t : templates)
            ids << QString::fromStdString(t.id);
        for (const char *id : {"data-provenance", "pii-privacy", "fairness-slices", "security",
                               "evaluation-completeness", "deployment-readiness"})
            QVERIFY2(ids.contains(id), id);
        auto bad = parseTemplate(Json::parse(R"({"id":"t","title":"T","items":[{"id":"a","text":"x",
            "kind":"evidence","rule":"ece <="}]})"),
                                 "team.json");
        QVERIFY(!bad.ok());
        QVERIFY(QString::fromStdString(bad.error().message).contains("team.json: items[0] ('a')"));
    }

    // The governance flow through the CLI: register, start, blocked promotion
    // naming the items, evidence from a stored evaluation, sign-off, promotion,
    // second version, rollback, history, audit.
    void promotionGateRollbackAndAudit()
    {
        const QString db = path("flow.db");
        const QString templateFile = path("team.json");
        {
            std::ofstream out(templateFile.toStdString());
            out << R"({"id": "team-release", "title": "Team release", "items": [
                {"id": "owner-named", "text": "Owner named", "kind": "manual", "required": true},
                {"id": "accurate", "text": "Accuracy", "kind": "evidence", "rule": "accuracy >= 0.9"},
                {"id": "calibrated", "text": "ECE", "kind": "evidence", "rule": "ece <= 0.05"},
                {"id": "nice-to-have", "text": "Optional", "kind": "manual", "required": false}]})";
        }
        CliResult added =
            cli({"registry", "add", classifier(), "--name", "clf", "--notes", "first", "--db", db});
        QCOMPARE(added.exitCode, 0);
        QVERIFY(added.out.contains("registered clf:1"));
        QVERIFY(added.out.contains(
            QString::fromStdString(sha256File(classifier().toStdString()).value())));
        QVERIFY(added.out.contains("\"ai.onnx\":17"));
        QCOMPARE(cli({"checklist", "start", "clf:1", "--template-file", templateFile, "--db", db})
                     .exitCode,
                 0);

        CliResult blocked = cli({"deploy", "promote", "clf:1", "--env", "prod", "--db", db});
        QCOMPARE(blocked.exitCode, 2);
        QVERIFY(blocked.err.contains("team-release/owner-named (open)"));
        QVERIFY(blocked.err.contains("team-release/accurate (open)"));
        QVERIFY(blocked.err.contains("team-release/calibrated (open)"));
        QVERIFY(!blocked.err.contains("nice-to-have"));

        // Store the evaluation (as `eval --db` does) -> evidence items pass.
        {
            auto store = store::Store::open(db.toStdString()).value();
            auto version = store->resolveVersion("clf:1").value();
            QVERIFY(store
                        ->saveEvaluation(version.id, readJson(data("eval_demo.json")),
                                         {"eval", "eval_demo.json", std::nullopt})
                        .ok());
            QVERIFY(store->saveDriftSnapshot(version.id, readJson(data("drift_demo.json"))).ok());
            QVERIFY(store
                        ->saveEvaluation(version.id, readJson(data("quality_demo.json")),
                                         {"quality", "quality_demo.json", std::nullopt})
                        .ok());
        }
        blocked = cli({"deploy", "promote", "clf:1", "--env", "prod", "--db", db});
        QCOMPARE(blocked.exitCode, 2);
        QVERIFY(blocked.err.contains("team-release/owner-named (open)"));
        QVERIFY(!blocked.err.contains("accurate"));
        CliResult wrong = cli({"checklist", "sign", "clf:1", "accurate", "--reviewer", "ann",
                               "--decision", "approve", "--db", db});
        QCOMPARE(wrong.exitCode, 2); // evidence items take no sign-off
        QCOMPARE(cli({"checklist", "sign", "clf:1", "owner-named", "--reviewer", "ann",
                      "--decision", "needs_work", "--db", db})
                     .exitCode,
                 0);
        QCOMPARE(cli({"deploy", "promote", "clf:1", "--env", "prod", "--db", db}).exitCode, 2);
        QCOMPARE(cli({"checklist", "sign", "clf:1", "owner-named", "--reviewer", "ann", "--role",
                      "lead", "--decision", "approve", "--comment", "Ann owns it", "--db", db})
                     .exitCode,
                 0);
        CliResult shown = cli({"checklist", "show", "clf:1", "--json", "--db", db});
        QCOMPARE(shown.exitCode, 0);
        Json show = Json::parse(shown.out.toStdString());
        QCOMPARE(show["ready"].get<bool>(), true);
        QCOMPARE(show["checklists"][0]["items"][0]["signoffs"].size(), std::size_t(2));
        QCOMPARE(show["checklists"][0]["items"][1]["status"].get<std::string>(),
                 std::string("passed"));
        QCOMPARE(cli({"deploy", "promote", "clf:1", "--env", "prod", "--db", db}).exitCode, 0);

        // Version 2 with its own checklist, promoted, then rolled back.
        QCOMPARE(cli({"registry", "add", classifier(), "--name", "clf", "--db", db}).exitCode, 0);
        QCOMPARE(cli({"deploy", "promote", "clf:2", "--env", "prod", "--db", db}).exitCode,
                 0); // no checklist: warned
        CliResult rolled = cli({"deploy", "rollback", "clf", "--env", "prod", "--db", db});
        QCOMPARE(rolled.exitCode, 0);
        QVERIFY(rolled.out.contains("from version 2 to version 1"));
        CliResult history =
            cli({"deploy", "history", "clf", "--env", "prod", "--json", "--db", db});
        QCOMPARE(history.exitCode, 0);
        Json historyJson = Json::parse(history.out.toStdString());
        QCOMPARE(historyJson["active"]["prod"].get<int>(), 1);
        QStringList steps;
        for (const auto &entry : historyJson["history"])
            steps << QString::fromStdString(entry["action"].get<std::string>()) + ":" +
                         QString::number(entry["version"].get<int>());
        QCOMPARE(steps, QStringList({"promote:1", "promote:2", "rollback:1"}));

        // The audit chain covers every change and detects tampering.
        CliResult verified = cli({"audit", "verify", "--json", "--db", db});
        QCOMPARE(verified.exitCode, 0);
        Json verification = Json::parse(verified.out.toStdString());
        QVERIFY(verification["ok"].get<bool>());
        CliResult log = cli({"audit", "log", "--json", "--db", db});
        QStringList actions;
        Json logJson = Json::parse(log.out.toStdString());
        for (const auto &entry : logJson["entries"])
            actions << QString::fromStdString(entry["action"].get<std::string>());
        for (const char *action :
             {"registry.add", "checklist.start", "evaluation.store", "drift.store",
              "checklist.evidence", "checklist.sign", "deploy.promote", "deploy.rollback"})
            QVERIFY2(actions.contains(action), action);
        QCOMPARE(verification["entries"].get<int>(), actions.size());
        sqlite3 *raw = nullptr;
        QCOMPARE(sqlite3_open(db.toUtf8().constData(), &raw), SQLITE_OK);
        QCOMPARE(sqlite3_exec(raw,
                              "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = "
                              "'mallory' WHERE id = 5;",
                              nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(raw);
        CliResult tampered = cli({"audit", "verify", "--json", "--db", db});
        QCOMPARE(tampered.exitCode, 1);
        Json broken = Json::parse(tampered.out.toStdString());
        QCOMPARE(broken["ok"].get<bool>(), false);
        QCOMPARE(broken["first_bad_id"].get<int>(), 5);
    }

    void badDatabaseFilesExit2Untouched_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("csv") << QByteArray("a,b\n1,2\n");
        QTest::newRow("sqlite-header-garbage")
            << QByteArray("SQLite format 3", 16) + QByteArray(8192, '\x11');
        QTest::newRow("random") << QByteArray(5000, '\xff');
    }
    void badDatabaseFilesExit2Untouched()
    {
        QFETCH(QByteArray, bytes);
        const QString db = path("bad.db");
        {
            QFile file(db);
            QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
            file.write(bytes);
        }
        for (const QStringList &command :
             {QStringList{"registry", "list"}, QStringList{"audit", "verify"},
              QStringList{"registry", "add", classifier(), "--name", "x"}}) {
            CliResult result = cli(command + QStringList{"--db", db});
            QCOMPARE(result.exitCode, 2);
            QVERIFY2(result.err.contains(db) && result.err.contains("not modified"),
                     qPrintable(result.err));
            QCOMPARE(fileBytes(db), bytes);
            QVERIFY(!QFile::exists(db + "-wal"));
        }
    }

    void newerSchemaExit2()
    {
        const QString db = path("newer.db");
        QCOMPARE(cli({"registry", "list", "--db", db}).exitCode, 0);
        sqlite3 *raw = nullptr;
        sqlite3_open(db.toUtf8().constData(), &raw);
        QCOMPARE(sqlite3_exec(raw, "PRAGMA journal_mode=DELETE; PRAGMA user_version = 999;",
                              nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(raw);
        QByteArray before = fileBytes(db);
        CliResult result = cli({"registry", "list", "--db", db});
        QCOMPARE(result.exitCode, 2);
        QVERIFY(result.err.contains("schema version 999 is newer"));
        QCOMPARE(fileBytes(db), before);
    }

    void reportsAndModelCard()
    {
        const QString db = path("report.db");
        QCOMPARE(cli({"registry", "add", classifier(), "--name", "clf", "--db", db}).exitCode, 0);
        {
            auto store = store::Store::open(db.toStdString()).value();
            auto version = store->resolveVersion("clf").value();
            QVERIFY(store->saveEvaluation(version.id, readJson(data("eval_demo.json"))).ok());
            QVERIFY(store->saveDriftSnapshot(version.id, readJson(data("drift_demo.json"))).ok());
            QVERIFY(store
                        ->saveEvaluation(version.id, readJson(data("quality_demo.json")),
                                         {"quality", "", std::nullopt})
                        .ok());
            QVERIFY(store
                        ->saveRun({0,
                                   version.id,
                                   std::nullopt,
                                   "succeeded",
                                   {{"devices", {"cpu:0", "cpu:1"}}},
                                   {{"total_ms", 12.5}},
                                   {{"throughput", 800}},
                                   "/tmp/trace.json",
                                   "",
                                   "",
                                   ""})
                        .ok());
        }
        QCOMPARE(cli({"checklist", "start", "clf:1", "--template", "fairness-slices", "--db", db})
                     .exitCode,
                 0);

        // HTML: standalone (no network), with the charts and tables.
        const QString html = path("report.html");
        QCOMPARE(cli({"report", "clf:1", "--format", "html", "--out", html, "--db", db}).exitCode,
                 0);
        QString text = QString::fromUtf8(fileBytes(html));
        QVERIFY(!text.contains("http://") && !text.contains("https://"));
        QVERIFY(!QRegularExpression(R"((src|href)\s*=)").match(text).hasMatch());
        QVERIFY(!text.contains("@import") && !text.contains("url("));
        QCOMPARE(text.count("<svg"), 4); // reliability, slices, confusion, drift
        for (const char *needle :
             {"Reliability diagram", "Confusion matrix", "lakeside_clinic", "worst-slice-accuracy",
              "Drift by column", "Data quality", "cpu:1"})
            QVERIFY2(text.contains(needle), needle);

        // PDF through Qt's writer: pages and text.
        const QString pdf = path("report.pdf");
        CliResult pdfRun = cli({"report", "clf:1", "--format", "pdf", "--out", pdf, "--db", db});
        QVERIFY2(pdfRun.exitCode == 0, qPrintable(pdfRun.err));
        QByteArray pdfBytes = fileBytes(pdf);
        QVERIFY(pdfBytes.startsWith("%PDF-"));
        auto count = QRegularExpression(R"(/Type\s*/Pages\b[^>]*/Count\s+(\d+))")
                         .match(QString::fromLatin1(pdfBytes));
        QVERIFY(count.hasMatch());
        QVERIFY(count.captured(1).toInt() > 0);
        if (QStandardPaths::findExecutable("pdftotext").isEmpty())
            QFAIL("pdftotext (poppler-utils, see scripts/setup) is needed to check the PDF text");
        QProcess pdftotext;
        pdftotext.start("pdftotext", {pdf, "-"});
        QVERIFY(pdftotext.waitForFinished(60000));
        QString pdfText = QString::fromUtf8(pdftotext.readAllStandardOutput());
        QVERIFY2(pdfText.contains("Evaluation report: clf:1"), qPrintable(pdfText.left(400)));
        QVERIFY(pdfText.contains("north_general"));
        QVERIFY(pdfText.contains("Checklist status"));

        // Model card JSON validates against the MCT v0.0.2 schema.
        const QString cardPath = path("card.json");
        QCOMPARE(cli({"modelcard", "clf:1", "--out", cardPath, "--db", db}).exitCode, 0);
        Json card = readJson(cardPath);
        Json schema = readJson(data("model_card.schema.json"));
        auto errors = test::validateJsonSchema(schema, card);
        QVERIFY2(errors.empty(), errors.empty() ? "" : errors.front().c_str());
        int sliced = 0, withCi = 0;
        for (const auto &metric : card["quantitative_analysis"]["performance_metrics"]) {
            sliced += metric.contains("slice") ? 1 : 0;
            withCi += metric.contains("confidence_interval") ? 1 : 0;
        }
        QVERIFY(sliced >= 3 * 2); // 4 sites x {accuracy, f1_macro}
        QVERIFY(withCi >= 4);
        // The validator is not vacuous: broken cards are rejected.
        Json broken = card;
        broken["quantitative_analysis"]["performance_metrics"][0]["value"] = "high";
        QVERIFY(!test::validateJsonSchema(schema, broken).empty());
        broken = card;
        broken["model_details"]["colour"] = "blue";
        QVERIFY(!test::validateJsonSchema(schema, broken).empty());
        broken = card;
        broken.erase("model_details");
        QVERIFY(!test::validateJsonSchema(schema, broken).empty());
        broken = card;
        broken["quantitative_analysis"]["performance_metrics"][0]["confidence_interval"] = {
            {"lower_bound", 0.1}};
        QVERIFY(!test::validateJsonSchema(schema, broken).empty());

        const QString markdown = path("card.md");
        QCOMPARE(cli({"modelcard", "clf:1", "--out", markdown, "--db", db}).exitCode, 0);
        QString md = QString::fromUtf8(fileBytes(markdown));
        QVERIFY(md.startsWith("# Model card: clf (version 1)"));
        QVERIFY(md.contains("| accuracy | riverside |"));
    }
};

QTEST_GUILESS_MAIN(TestGovernance)
#include "test_governance.moc"
