#include "ui/report/report_page.h"

#include "core/common/paths.h"
#include "ui/common/store_access.h"
#include "ui/common/user_message.h"
#include "ui/report/pdf_export.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHash>
#include <QLabel>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSvgRenderer>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

namespace sb::ui {

namespace {

// Shows the report's rich text; "chart:ID" images come from the rendered
// charts (a resource table that survives setHtml, unlike addResource).
class ReportBrowser : public QTextBrowser
{
public:
    explicit ReportBrowser(QWidget *parent) : QTextBrowser(parent) {}
    void setCharts(const QVector<QPair<QString, QImage>> &charts)
    {
        m_charts.clear();
        for (const auto &[name, image] : charts)
            m_charts.insert(name, image);
    }
    QVariant loadResource(int type, const QUrl &name) override
    {
        if (type == QTextDocument::ImageResource) {
            const auto it = m_charts.constFind(name.toString());
            if (it != m_charts.constEnd())
                return *it;
        }
        return QTextBrowser::loadResource(type, name);
    }

private:
    QHash<QString, QImage> m_charts;
};

Status writeFile(const QString &path, const QByteArray &bytes)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return makeError(ErrorCode::Io,
                         path.toStdString() + ": " + file.errorString().toStdString());
    file.write(bytes);
    if (!file.commit())
        return makeError(ErrorCode::Io,
                         path.toStdString() + ": " + file.errorString().toStdString());
    return Status::success();
}

QString kindName(ReportPage::ExportKind kind)
{
    switch (kind) {
    case ReportPage::ExportKind::Html:
        return QStringLiteral("HTML");
    case ReportPage::ExportKind::Pdf:
        return QStringLiteral("PDF");
    case ReportPage::ExportKind::ModelCard:
        return QStringLiteral("model card");
    }
    return {};
}

} // namespace

Result<RenderedReport> renderReport(governance::ReportData data)
{
    RenderedReport rendered;
    for (const auto &chart : governance::reportCharts(data)) {
        QSvgRenderer renderer(QByteArray::fromStdString(chart.svg));
        if (!renderer.isValid())
            return makeError(ErrorCode::Internal,
                             "report chart '" + chart.id + "' is not valid SVG");
        // Twice the layout size, marked as such, for a crisp picture on HiDPI screens.
        QImage image(chart.width * 2, chart.height * 2, QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::white);
        QPainter painter(&image);
        renderer.render(&painter);
        painter.end();
        image.setDevicePixelRatio(2.0);
        rendered.charts.push_back({QString::fromStdString("chart:" + chart.id), image});
    }
    rendered.html = QString::fromStdString(
        governance::renderReportHtml(data, governance::HtmlFlavor::RichText));
    rendered.data = std::move(data);
    return rendered;
}

ReportPage::ReportPage(TaskRunner *tasks, QWidget *parent) : QWidget(parent), m_tasks(tasks)
{
    auto *layout = new QVBoxLayout(this);
    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Model version:"), this));
    m_version = new QComboBox(this);
    m_version->setObjectName("reportVersion");
    m_version->setMinimumWidth(220);
    top->addWidget(m_version);
    m_refresh = new QPushButton(tr("Refresh"), this);
    top->addWidget(m_refresh);
    top->addStretch(1);
    m_exportHtml = new QPushButton(tr("Export HTML…"), this);
    m_exportHtml->setObjectName("exportHtml");
    m_exportPdf = new QPushButton(tr("Export PDF…"), this);
    m_exportPdf->setObjectName("exportPdf");
    m_exportCard = new QPushButton(tr("Export Model Card…"), this);
    m_exportCard->setObjectName("exportModelCard");
    top->addWidget(m_exportHtml);
    top->addWidget(m_exportPdf);
    top->addWidget(m_exportCard);
    layout->addLayout(top);
    auto *statusRow = new QHBoxLayout;
    m_status = new QLabel(tr("Reports are built from the store: evaluate a model on the "
                             "Evaluation page, then pick its version here."),
                          this);
    m_status->setObjectName("reportStatus");
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 100);
    m_progress->setMaximumWidth(200);
    m_progress->hide();
    statusRow->addWidget(m_status, 1);
    statusRow->addWidget(m_progress);
    layout->addLayout(statusRow);
    m_exportLog = new QLabel(this);
    m_exportLog->setObjectName("exportLog");
    m_exportLog->setWordWrap(true);
    m_exportLog->hide();
    layout->addWidget(m_exportLog);
    m_view = new ReportBrowser(this);
    m_view->setOpenExternalLinks(false);
    layout->addWidget(m_view, 1);
    for (QPushButton *button : {m_exportHtml, m_exportPdf, m_exportCard})
        button->setEnabled(false);

    connect(m_tasks, &TaskRunner::taskProgress, this,
            [this](int task, double fraction, const QString &) {
                if (task == m_exportTask)
                    m_progress->setValue(int(fraction * 100));
            });
    connect(m_refresh, &QPushButton::clicked, this, &ReportPage::refresh);
    connect(m_version, &QComboBox::currentIndexChanged, this, &ReportPage::loadReport);
    connect(m_exportHtml, &QPushButton::clicked, this,
            [this]() { exportDialog(ExportKind::Html); });
    connect(m_exportPdf, &QPushButton::clicked, this, [this]() { exportDialog(ExportKind::Pdf); });
    connect(m_exportCard, &QPushButton::clicked, this,
            [this]() { exportDialog(ExportKind::ModelCard); });
}

void ReportPage::setBusy(bool busy, const QString &message)
{
    m_busyTasks = std::max(0, m_busyTasks + (busy ? 1 : -1));
    m_progress->setVisible(m_busyTasks > 0);
    if (busy)
        m_progress->setValue(0);
    if (!message.isEmpty())
        m_status->setText(message);
}

QString ReportPage::statusText() const
{
    return m_status->text();
}

QString ReportPage::currentVersion() const
{
    return m_version->currentText();
}

void ReportPage::refresh()
{
    setBusy(true, tr("Loading model versions…"));
    runWithStore<std::vector<store::ModelVersionRecord>>(
        m_tasks, tr("Loading model versions"),
        [](store::Store &store,
           const CancelToken &) -> Result<std::vector<store::ModelVersionRecord>> {
            SB_ASSIGN_OR_RETURN(auto models, store.models().list());
            std::vector<store::ModelVersionRecord> all;
            for (const auto &model : models) {
                SB_ASSIGN_OR_RETURN(auto versions, store.models().versions(model.name));
                all.insert(all.end(), versions.begin(), versions.end());
            }
            return all;
        },
        this,
        [this](Result<std::vector<store::ModelVersionRecord>> result) {
            setBusy(false, {});
            if (!result.ok()) {
                m_status->setText(userMessage(tr("Opening the store"), result.error()));
                emit errorOccurred(m_status->text());
                emit versionsLoaded();
                return;
            }
            const QString keep =
                !m_pendingVersion.isEmpty() ? m_pendingVersion : m_version->currentText();
            m_pendingVersion.clear();
            {
                const QSignalBlocker blocker(m_version);
                m_version->clear();
                for (const auto &version : *result)
                    m_version->addItem(QString::fromStdString(version.label()),
                                       QVariant::fromValue<qint64>(version.id));
                const int index = m_version->findText(keep);
                m_version->setCurrentIndex(index >= 0 ? index : m_version->count() - 1);
            }
            emit versionsLoaded();
            loadReport();
        });
}

void ReportPage::selectVersion(const QString &label)
{
    const int index = m_version->findText(label);
    if (index >= 0 && index != m_version->currentIndex()) {
        m_version->setCurrentIndex(index); // loads the report
        return;
    }
    if (index < 0)
        m_pendingVersion = label; // picked up by the next refresh()
}

void ReportPage::loadReport()
{
    const int generation = ++m_loadGeneration;
    const store::Id versionId = m_version->currentData().toLongLong();
    if (versionId <= 0) {
        m_data.reset();
        m_html.clear();
        m_view->setHtml(tr("<p>No model version in the store yet. Evaluate a model on the "
                           "Evaluation page (its results are stored for its version), then "
                           "come back here.</p>"));
        for (QPushButton *button : {m_exportHtml, m_exportPdf, m_exportCard})
            button->setEnabled(false);
        emit reportLoaded(false);
        return;
    }
    setBusy(true, tr("Building the report of %1…").arg(m_version->currentText()));
    runWithStore<RenderedReport>(
        m_tasks, tr("Building the report"),
        [versionId](store::Store &store, const CancelToken &) -> Result<RenderedReport> {
            SB_ASSIGN_OR_RETURN(auto version, store.models().versionById(versionId));
            SB_ASSIGN_OR_RETURN(auto data, governance::gatherReport(store, version));
            return renderReport(std::move(data));
        },
        this,
        [this, generation](Result<RenderedReport> result) {
            setBusy(false, {});
            if (generation != m_loadGeneration)
                return; // a newer selection superseded this one
            if (!result.ok()) {
                m_status->setText(userMessage(tr("Building the report"), result.error()));
                emit errorOccurred(m_status->text());
                emit reportLoaded(false);
                return;
            }
            RenderedReport rendered = std::move(result).value();
            static_cast<ReportBrowser *>(m_view)->setCharts(rendered.charts);
            m_html = rendered.html;
            m_view->setHtml(m_html);
            const auto &data = rendered.data;
            m_status->setText(
                tr("Report of <b>%1</b> generated %2: %3, %4, %5, %n chart(s).", nullptr,
                   int(rendered.charts.size()))
                    .arg(QString::fromStdString(data.version.label()).toHtmlEscaped(),
                         QString::fromStdString(data.generatedAt),
                         data.evaluation ? tr("evaluation #%1").arg(data.evaluation->id)
                                         : tr("no evaluation"),
                         data.drift ? tr("drift #%1").arg(data.drift->id) : tr("no drift"),
                         data.run ? tr("run #%1").arg(data.run->id) : tr("no run")));
            m_data = std::move(rendered.data);
            for (QPushButton *button : {m_exportHtml, m_exportPdf, m_exportCard})
                button->setEnabled(true);
            emit reportLoaded(true);
        });
}

void ReportPage::exportTo(ExportKind kind, const QString &path)
{
    if (!m_data) {
        const QString message = tr("No report to export: pick a model version first.");
        emit errorOccurred(message);
        emit exportFailed(kind, message);
        return;
    }
    setBusy(true, tr("Exporting %1 to %2…").arg(kindName(kind), path));
    const auto database = guiDatabasePath();
    m_exportTask = m_tasks->start<QStringList>(
        tr("Exporting the %1").arg(kindName(kind)),
        [data = *m_data, kind, path, database](const ProgressFn &progress,
                                               const CancelToken &) -> Result<QStringList> {
            QStringList written;
            std::string action = "report.export";
            store::Json details = {{"out", path.toStdString()}, {"source", "gui"}};
            if (progress)
                progress(0.1, "Rendering");
            switch (kind) {
            case ExportKind::Html:
                SB_TRY(writeFile(path, QByteArray::fromStdString(governance::renderReportHtml(
                                           data, governance::HtmlFlavor::Standalone))));
                details["format"] = "html";
                written << path;
                break;
            case ExportKind::Pdf:
                SB_TRY(exportReportPdf(data, path.toStdString()));
                details["format"] = "pdf";
                written << path;
                break;
            case ExportKind::ModelCard: {
                const store::Json card = governance::buildModelCard(data);
                QString json = path, markdown;
                if (json.endsWith(".md", Qt::CaseInsensitive))
                    json = json.chopped(3) + ".json";
                else if (!json.endsWith(".json", Qt::CaseInsensitive))
                    json += ".json";
                markdown = json.chopped(5) + ".md";
                SB_TRY(writeFile(
                    json,
                    QByteArray::fromStdString(
                        card.dump(2, ' ', false, store::Json::error_handler_t::replace) + "\n")));
                SB_TRY(writeFile(markdown, QByteArray::fromStdString(
                                               governance::renderModelCardMarkdown(card))));
                action = "modelcard.export";
                details["format"] = "json+md";
                details["out"] = json.toStdString();
                details["markdown"] = markdown.toStdString();
                written << json << markdown;
                break;
            }
            }
            if (progress)
                progress(0.9, "Recording the export in the audit log");
            SB_ASSIGN_OR_RETURN(auto store, store::Store::open(database));
            SB_TRY(store->audit().append(action, data.version.label(), details));
            if (progress)
                progress(1.0, "Done");
            return written;
        },
        this,
        [this, kind](Result<QStringList> result) {
            setBusy(false, {});
            if (!result.ok()) {
                const QString message =
                    userMessage(tr("Exporting the %1").arg(kindName(kind)), result.error());
                m_status->setText(message.toHtmlEscaped());
                emit errorOccurred(message);
                emit exportFailed(kind, message);
                return;
            }
            QStringList sizes;
            for (const QString &file : *result)
                sizes << tr("%1 (%2 KB)")
                             .arg(QFileInfo(file).fileName())
                             .arg(QFileInfo(file).size() / 1024.0, 0, 'f', 1);
            m_status->setText(tr("Exported the %1 of <b>%2</b>: %3 (recorded in the audit log).")
                                  .arg(kindName(kind), m_version->currentText().toHtmlEscaped(),
                                       sizes.join(", ").toHtmlEscaped()));
            m_exports << sizes;
            m_exportLog->setText(tr("Exported this session: %1").arg(m_exports.join(" · ")));
            m_exportLog->setToolTip(result->join("\n"));
            m_exportLog->show();
            emit exported(kind, *result);
        });
}

void ReportPage::exportDialog(ExportKind kind)
{
    const QString base = QString::fromStdString(m_data ? m_data->version.modelName + "-v" +
                                                             std::to_string(m_data->version.version)
                                                       : std::string("report"));
    QString path;
    switch (kind) {
    case ExportKind::Html:
        path = QFileDialog::getSaveFileName(this, tr("Export report as HTML"),
                                            base + "-report.html", tr("HTML (*.html)"));
        break;
    case ExportKind::Pdf:
        path = QFileDialog::getSaveFileName(this, tr("Export report as PDF"), base + "-report.pdf",
                                            tr("PDF (*.pdf)"));
        break;
    case ExportKind::ModelCard:
        path = QFileDialog::getSaveFileName(this, tr("Export model card (JSON + Markdown)"),
                                            base + "-model-card.json", tr("JSON (*.json)"));
        break;
    }
    if (!path.isEmpty())
        exportTo(kind, path);
}

} // namespace sb::ui
