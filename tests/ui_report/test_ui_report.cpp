// Report page and the Evaluation page's store writes, against a real store in
// a temporary file: the page shows the report of a stored evaluation (the
// HTML carries the stored metric values, the charts are image resources),
// exports HTML, PDF (text read back with pdftotext) and the model card (JSON
// valid against the Model Card Toolkit schema, Markdown) and audits each
// export; evaluating the demo data on the Evaluation page registers the demo
// classifier once and stores evaluation, quality and drift for its version.
#include "core/common/paths.h"
#include "core/common/sha256.h"
#include "core/store/store.h"
#include "json_schema.h"
#include "ui/common/store_access.h"
#include "ui/common/task_runner.h"
#include "ui/eval/eval_page.h"
#include "ui/report/report_page.h"

#include <QComboBox>
#include <QLineEdit>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>

#include <fstream>

using namespace sb;
using namespace sb::ui;
using store::Json;

namespace {

Json readJson(const QString &path)
{
    std::ifstream in(path.toStdString());
    return Json::parse(in, nullptr, false);
}

QString fixture(const char *name)
{
    return QString(SB_TESTDATA_DIR) + "/store/" + name;
}

QString readText(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.readAll());
}

// The report's number format: four significant digits.
QString shown(double value)
{
    return QString::number(value, 'g', 4);
}

} // namespace

class TestUiReport : public QObject
{
    Q_OBJECT
private slots:
    void init();
    void reportFromStore();
    void exports();
    void exportWithoutReport();
    void evaluationStoredForVersion();
    void evaluationCancels();

private:
    // Registers a model version and stores the fixture evaluation, quality
    // and drift reports for it; returns the version.
    store::ModelVersionRecord seedStore();

    QTemporaryDir m_dir;
    std::filesystem::path m_db;
};

void TestUiReport::init()
{
    QVERIFY(m_dir.isValid());
    static int counter = 0;
    m_db = std::filesystem::path(m_dir.path().toStdString()) /
           ("store" + std::to_string(++counter) + ".db");
    setGuiDatabasePath(m_db);
}

store::ModelVersionRecord TestUiReport::seedStore()
{
    auto opened = store::Store::open(m_db);
    if (!opened.ok())
        qFatal("store: %s", opened.error().message.c_str());
    store::Store &db = **opened;
    store::NewModelVersion input;
    input.modelName = "clf";
    input.filePath = "/models/clf.onnx";
    input.sha256 = std::string(64, 'e');
    input.sizeBytes = 4321;
    auto version = db.registerModelVersion(input);
    if (!version.ok())
        qFatal("register: %s", version.error().message.c_str());
    if (!db.saveEvaluation(version->id, readJson(fixture("eval_demo.json")),
                           {"eval", "fixture", std::nullopt})
             .ok() ||
        !db.saveEvaluation(version->id, readJson(fixture("quality_demo.json")),
                           {"quality", "fixture", std::nullopt})
             .ok() ||
        !db.saveDriftSnapshot(version->id, readJson(fixture("drift_demo.json")),
                              {"drift", "fixture", std::nullopt})
             .ok())
        qFatal("saving the fixtures failed");
    return *version;
}

void TestUiReport::reportFromStore()
{
    seedStore();
    const Json eval = readJson(fixture("eval_demo.json"));
    TaskRunner tasks;
    ReportPage page(&tasks);
    QSignalSpy loaded(&page, &ReportPage::reportLoaded);
    page.refresh();
    QVERIFY(loaded.wait(20000));
    QCOMPARE(loaded.back().front().toBool(), true);
    QCOMPARE(page.currentVersion(), QStringLiteral("clf:1"));
    QVERIFY(page.reportData() != nullptr);
    const QString html = page.html();
    QVERIFY(html.contains("Evaluation report: clf:1"));
    // The stored metric values, as stored (not recomputed).
    for (const char *metric : {"accuracy", "roc_auc", "ece", "brier"}) {
        const QString value = shown(eval["overall"][metric].get<double>());
        QVERIFY2(html.contains(value),
                 qPrintable(QStringLiteral("%1 = %2 missing").arg(metric, value)));
    }
    for (const auto &slice : eval["slices"])
        QVERIFY(html.contains(QString::fromStdString(slice["name"].get<std::string>())));
    // Charts are image resources of the view, not external files.
    for (const char *chart :
         {"chart:reliability", "chart:slices", "chart:confusion", "chart:drift"}) {
        QVERIFY2(html.contains(chart), chart);
        const QVariant resource = page.view()->loadResource(QTextDocument::ImageResource,
                                                            QUrl(QString::fromLatin1(chart)));
        const QImage image = resource.value<QImage>();
        QVERIFY2(!image.isNull() && image.width() > 100, chart);
    }
    // The view shows that document.
    QVERIFY(page.view()->toPlainText().contains("Evaluation report: clf:1"));
}

void TestUiReport::exports()
{
    const auto version = seedStore();
    const Json eval = readJson(fixture("eval_demo.json"));
    TaskRunner tasks;
    ReportPage page(&tasks);
    QSignalSpy loaded(&page, &ReportPage::reportLoaded);
    page.refresh();
    QVERIFY(loaded.wait(20000));

    QSignalSpy exported(&page, &ReportPage::exported);
    QSignalSpy failed(&page, &ReportPage::exportFailed);
    const QString html = m_dir.filePath("report.html");
    page.exportTo(ReportPage::ExportKind::Html, html);
    QVERIFY(exported.wait(20000));
    QCOMPARE(exported.back().at(1).toStringList(), QStringList{html});
    const QString htmlText = readText(html);
    QVERIFY(htmlText.startsWith("<!DOCTYPE html>"));
    QVERIFY(htmlText.contains("<svg"));          // standalone: inline charts
    QVERIFY(!htmlText.contains("src=\"chart:")); // no app-only resources
    QVERIFY(htmlText.contains(shown(eval["overall"]["accuracy"].get<double>())));

    const QString pdf = m_dir.filePath("report.pdf");
    page.exportTo(ReportPage::ExportKind::Pdf, pdf);
    QVERIFY(exported.wait(60000));
    QVERIFY(readText(pdf).startsWith("%PDF-"));
    if (QStandardPaths::findExecutable("pdftotext").isEmpty())
        QFAIL("pdftotext (poppler-utils, see scripts/setup) is needed to check the PDF text");
    QProcess pdftotext;
    pdftotext.start("pdftotext", {pdf, "-"});
    QVERIFY(pdftotext.waitForFinished(60000));
    const QString pdfText = QString::fromUtf8(pdftotext.readAllStandardOutput());
    QVERIFY2(pdfText.contains("Evaluation report: clf:1"), qPrintable(pdfText.left(400)));
    QVERIFY(pdfText.contains(shown(eval["overall"]["accuracy"].get<double>())));
    QVERIFY(pdfText.contains("lakeside_clinic"));

    // The model card: a name without .json gets it; the Markdown sits next to it.
    const QString card = m_dir.filePath("card");
    page.exportTo(ReportPage::ExportKind::ModelCard, card);
    QVERIFY(exported.wait(20000));
    const QStringList cardFiles = exported.back().at(1).toStringList();
    QCOMPARE(cardFiles, (QStringList{card + ".json", card + ".md"}));
    const Json cardJson = readJson(card + ".json");
    QVERIFY(cardJson.is_object());
    const Json schema = readJson(fixture("model_card.schema.json"));
    const auto errors = test::validateJsonSchema(schema, cardJson);
    QVERIFY2(errors.empty(), errors.empty() ? "" : errors.front().c_str());
    QCOMPARE(cardJson["model_details"]["name"].get<std::string>(), std::string("clf"));
    QVERIFY(readText(card + ".md").contains("clf"));
    QCOMPARE(failed.count(), 0);

    // Every export is in the audit log, attributed to the version.
    auto opened = store::Store::open(m_db);
    QVERIFY(opened.ok());
    auto entries = (*opened)->audit().entries();
    QVERIFY(entries.ok());
    QStringList formats;
    for (const auto &entry : *entries)
        if (entry.subject == version.label() &&
            (entry.action == "report.export" || entry.action == "modelcard.export"))
            formats << QString::fromStdString(entry.details.value("format", std::string()));
    QCOMPARE(formats, (QStringList{"html", "pdf", "json+md"}));
    auto verification = (*opened)->audit().verify();
    QVERIFY(verification.ok() && verification->ok);
}

void TestUiReport::exportWithoutReport()
{
    // An empty store: nothing to show, exports refused with a message, no file.
    TaskRunner tasks;
    ReportPage page(&tasks);
    QSignalSpy loaded(&page, &ReportPage::reportLoaded);
    page.refresh();
    QVERIFY(loaded.wait(20000));
    QCOMPARE(loaded.back().front().toBool(), false);
    QSignalSpy failed(&page, &ReportPage::exportFailed);
    const QString html = m_dir.filePath("nothing.html");
    page.exportTo(ReportPage::ExportKind::Html, html);
    QCOMPARE(failed.count(), 1);
    QVERIFY(failed.front().at(1).toString().contains("model version"));
    QVERIFY(!QFile::exists(html));
}

void TestUiReport::evaluationCancels()
{
    // Evaluate starts the work off the GUI thread with a progress bar and an
    // enabled Cancel; Cancel stops it: nothing stored, the page says so.
    TaskRunner tasks;
    EvalPage page(&tasks);
    auto *evaluate = page.findChild<QPushButton *>("evaluateButton");
    auto *cancel = page.findChild<QPushButton *>("cancelEvaluation");
    auto *progress = page.findChild<QProgressBar *>("evalProgress");
    QVERIFY(evaluate && cancel && progress);
    QVERIFY(!cancel->isEnabled());
    QVERIFY(progress->isHidden());
    QSignalSpy cancelled(&page, &EvalPage::evaluationCancelled);
    QSignalSpy stored(&page, &EvalPage::resultsStored);
    evaluate->click();
    QVERIFY(cancel->isEnabled());
    QVERIFY(!progress->isHidden());
    cancel->click();
    QVERIFY(cancelled.wait(60000));
    QCOMPARE(stored.size(), 0);
    QVERIFY(page.storeStatus().contains("cancelled"));
    QVERIFY(!cancel->isEnabled());
    QVERIFY(progress->isHidden());
    // A new evaluation after the cancel runs to the end.
    evaluate->click();
    QVERIFY(stored.wait(120000));
}

void TestUiReport::evaluationStoredForVersion()
{
    // The page opens on the demo data; pressing Evaluate stores the results
    // for the demo classifier's version, registering it on first use.
    TaskRunner tasks;
    EvalPage page(&tasks);
    auto *model = page.findChild<QLineEdit *>("modelPath");
    auto *current = page.findChild<QLineEdit *>("currentPath");
    auto *evaluate = page.findChild<QPushButton *>("evaluateButton");
    QVERIFY(model && current && evaluate);
    const QString classifier = QString::fromStdString(demoClassifierPath().string());
    QCOMPARE(model->text(), classifier);
    QVERIFY(current->text().endsWith("current.csv"));

    QSignalSpy stored(&page, &EvalPage::resultsStored);
    evaluate->click();
    QVERIFY(stored.wait(120000));
    QCOMPARE(stored.back().front().toString(), QStringLiteral("demo-classifier:1"));
    QVERIFY(page.storeStatus().contains("registered now"));

    auto opened = store::Store::open(m_db);
    QVERIFY(opened.ok());
    store::Store &db = **opened;
    auto version = db.resolveVersion("demo-classifier:1");
    QVERIFY(version.ok());
    auto sha = sha256File(demoClassifierPath());
    QVERIFY(sha.ok());
    QCOMPARE(version->sha256, *sha);
    auto evaluation = db.evaluations().latestEvaluation(version->id, "eval");
    QVERIFY(evaluation.ok() && evaluation->has_value());
    // What is stored is what the page shows.
    QVERIFY((*evaluation)->report == page.evalReport());
    auto quality = db.evaluations().latestEvaluation(version->id, "quality");
    QVERIFY(quality.ok() && quality->has_value());
    QVERIFY((*quality)->report == page.qualityReport());
    auto drift = db.evaluations().latestDrift(version->id);
    QVERIFY(drift.ok() && drift->has_value());
    QVERIFY((*drift)->report == page.driftReport());
    // The evaluation-completeness checklist read them: its evidence items
    // carry the stored accuracy.
    auto checklists = db.checklists().forVersion(version->id);
    QVERIFY(checklists.ok());
    QCOMPARE(checklists->size(), std::size_t(1));
    QCOMPARE(checklists->front().templateId, std::string("evaluation-completeness"));
    bool sawAccuracy = false;
    for (const auto &item : checklists->front().items)
        if (item.itemId == "offline-metrics") {
            QCOMPARE(item.evidence.value("values", Json::object()).value("accuracy", -1.0),
                     page.evalReport()["overall"]["accuracy"].get<double>());
            QCOMPARE(item.status, page.evalReport()["overall"]["accuracy"].get<double>() >= 0.9
                                      ? store::ItemStatus::Passed
                                      : store::ItemStatus::Failing);
            sawAccuracy = true;
        }
    QVERIFY(sawAccuracy);

    // A second evaluation attaches to the same version: no new registration.
    evaluate->click();
    QVERIFY(stored.wait(120000));
    QCOMPARE(stored.back().front().toString(), QStringLiteral("demo-classifier:1"));
    QVERIFY(!page.storeStatus().contains("registered now"));
    auto versions = db.models().versions("demo-classifier");
    QVERIFY(versions.ok());
    QCOMPARE(versions->size(), std::size_t(1));
    auto evaluations = db.evaluations().evaluations(version->id);
    QVERIFY(evaluations.ok());
    int evals = 0;
    for (const auto &record : *evaluations)
        evals += record.kind == "eval" ? 1 : 0;
    QCOMPARE(evals, 2);

    // Other data clears the demo model the page filled in: nothing is stored
    // for the demo classifier until the user names the model.
    current->setText(m_dir.filePath("other.csv"));
    emit current->editingFinished();
    QVERIFY(model->text().isEmpty());
    current->setText(QString::fromStdString(demoClassifierPath().parent_path().string()) +
                     "/current.csv");
    emit current->editingFinished();

    // A model file that does not exist: the reports still show, storing fails with its name.
    model->setText(m_dir.filePath("missing.onnx"));
    QSignalSpy errors(&page, &EvalPage::errorOccurred);
    evaluate->click();
    QVERIFY(errors.wait(120000));
    QVERIFY2(errors.back().front().toString().contains("missing.onnx"),
             qPrintable(errors.back().front().toString()));
}

QTEST_MAIN(TestUiReport)
#include "test_ui_report.moc"
