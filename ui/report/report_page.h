// Report: the evaluation report of a model version as core/governance builds
// it from the store (gatherReport: latest evaluation, quality, drift, run,
// checklists, deployments), shown inside the app as Qt rich text with its
// charts as document image resources, and exported as a self-contained HTML
// file, a PDF (ui/report/pdf_export) and the model card (JSON + Markdown).
// Store reads, rendering and exports run on the TaskRunner with progress;
// every export is recorded in the audit log ("report.export",
// "modelcard.export"), as the CLI's `report` does.
#pragma once

#include "core/governance/report.h"
#include "ui/common/page.h"
#include "ui/common/task_runner.h"

#include <QImage>
#include <QVector>
#include <QWidget>

#include <optional>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QTextBrowser;

namespace sb::ui {

// What the page shows: the data, its RichText HTML and the rasterised charts
// ("chart:ID" resources). Built on a worker.
struct RenderedReport
{
    governance::ReportData data;
    QString html;
    QVector<QPair<QString, QImage>> charts; // resource name, image
};

Result<RenderedReport> renderReport(governance::ReportData data);

class ReportPage : public QWidget, public Page
{
    Q_OBJECT
public:
    // Page
    QString title() const override { return tr("Re&port"); }
    QWidget *widget() override { return this; }
    void activate() override { refresh(); }

    enum class ExportKind
    {
        Html,
        Pdf,
        ModelCard, // FILE.json plus FILE.md next to it
    };

    explicit ReportPage(TaskRunner *tasks, QWidget *parent = nullptr);

    // Reloads the model versions from the store, then the selected report.
    void refresh();
    // Shows the report of "NAME:VERSION" (after the versions are loaded).
    void selectVersion(const QString &label);
    QString currentVersion() const;
    // Gathers and renders the selected version's report on a worker.
    void loadReport();

    // The rich text shown (empty before a report is loaded).
    QString html() const { return m_html; }
    const governance::ReportData *reportData() const { return m_data ? &*m_data : nullptr; }
    QTextBrowser *view() const { return m_view; }

    // Writes the shown report on a worker; emits exported or errorOccurred.
    void exportTo(ExportKind kind, const QString &path);
    // Asks for a file name, then exportTo.
    void exportDialog(ExportKind kind = ExportKind::Html);
    QString statusText() const;

signals:
    void errorOccurred(const QString &message);
    void versionsLoaded();
    void reportLoaded(bool ok);
    // `paths`: every file written (the model card writes two).
    void exported(ReportPage::ExportKind kind, const QStringList &paths);
    void exportFailed(ReportPage::ExportKind kind, const QString &message);

private:
    void setBusy(bool busy, const QString &message);

    TaskRunner *m_tasks;
    QComboBox *m_version;
    QPushButton *m_refresh;
    QPushButton *m_exportHtml;
    QPushButton *m_exportPdf;
    QPushButton *m_exportCard;
    QProgressBar *m_progress;
    QLabel *m_status;
    QLabel *m_exportLog;
    QStringList m_exports;
    QTextBrowser *m_view;
    QString m_html;
    QString m_pendingVersion;
    std::optional<governance::ReportData> m_data;
    int m_loadGeneration = 0;
    int m_busyTasks = 0;
    int m_exportTask = 0;
};

} // namespace sb::ui
