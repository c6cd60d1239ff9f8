#include "ui/report/report_page.h"

#include "ui/common/chart_export.h"
#include "ui/eval/charts.h"
#include "ui/eval/eval_page.h"

#include <QChartView>

#include <QBuffer>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QMessageBox>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QPushButton>
#include <QSaveFile>
#include <QStandardItemModel>
#include <QTextBrowser>
#include <QTextDocument>
#include <QVBoxLayout>

namespace sb::ui {

namespace {

QString tableHtml(const QStandardItemModel *model, const QString &title)
{
    if (!model || model->rowCount() == 0)
        return {};
    QString html = "<h2>" + title.toHtmlEscaped() + "</h2><table border=1 cellspacing=0 cellpadding=4>";
    html += "<tr>";
    for (int c = 0; c < model->columnCount(); ++c)
        html += "<th>" + model->headerData(c, Qt::Horizontal).toString().toHtmlEscaped() + "</th>";
    html += "</tr>";
    for (int r = 0; r < model->rowCount(); ++r) {
        html += "<tr>";
        for (int c = 0; c < model->columnCount(); ++c)
            html += "<td>" + model->index(r, c).data().toString().toHtmlEscaped() + "</td>";
        html += "</tr>";
    }
    return html + "</table>";
}

QString chartImageHtml(QWidget *chart, const QString &alt)
{
    if (!chart || chart->width() < 10)
        return {};
    QImage image(chart->size(), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter painter(&image);
    chart->render(&painter);
    painter.end();
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return QStringLiteral("<p><img alt='%1' src='data:image/png;base64,%2' width='%3'></p>")
        .arg(alt.toHtmlEscaped(), QString::fromLatin1(bytes.toBase64()))
        .arg(std::min(chart->width(), 640));
}

} // namespace

ReportPage::ReportPage(TaskRunner *tasks, EvalPage *evalPage, QWidget *parent)
    : QWidget(parent), m_tasks(tasks), m_evalPage(evalPage)
{
    auto *layout = new QVBoxLayout(this);
    auto *buttons = new QHBoxLayout;
    auto *refresh = new QPushButton(tr("Rebuild From Evaluation"), this);
    auto *exportButton = new QPushButton(tr("Export HTML/PDF…"), this);
    buttons->addWidget(refresh);
    buttons->addStretch(1);
    buttons->addWidget(exportButton);
    layout->addLayout(buttons);
    m_view = new QTextBrowser(this);
    m_view->setOpenExternalLinks(false);
    layout->addWidget(m_view, 1);
    connect(refresh, &QPushButton::clicked, this, &ReportPage::rebuild);
    connect(exportButton, &QPushButton::clicked, this, &ReportPage::exportDialog);
    connect(evalPage, &EvalPage::reportsShown, this, &ReportPage::rebuild);
    rebuild();
}

void ReportPage::rebuild()
{
    QString html = "<html><head><meta charset='utf-8'><title>" + tr("Evaluation report") +
                   "</title><style>body{font-family:sans-serif;max-width:900px;margin:auto}"
                   "table{border-collapse:collapse}th{background:#eee}</style></head><body>";
    html += "<h1>" + tr("Evaluation report") + "</h1>";
    const auto &eval = m_evalPage->evalReport();
    if (!eval.is_object() && !m_evalPage->driftReport().is_object() &&
        !m_evalPage->qualityReport().is_object()) {
        html += "<p>" + tr("No evaluation yet: evaluate the model on the Evaluation page.") + "</p>";
    } else {
        if (eval.is_object())
            html += tr("<p>%1 rows, task %2.</p>")
                        .arg(QString::fromStdString(eval.value("rows", nlohmann::json()).dump()),
                             QString::fromStdString(eval.value("task", std::string("?"))));
        html += tableHtml(m_evalPage->overallModel(), tr("Overall metrics"));
        html += tableHtml(m_evalPage->perClassModel(), tr("Per class"));
        html += chartImageHtml(m_evalPage->heatmap(), tr("Confusion matrix"));
        html += chartImageHtml(m_evalPage->sliceChart(), tr("Slices"));
        html += tableHtml(m_evalPage->weakSlicesModel(), tr("Weak slices"));
        html += chartImageHtml(m_evalPage->reliabilityChart(), tr("Calibration"));
        html += chartImageHtml(m_evalPage->driftChart(), tr("Drift per feature"));
        html += chartImageHtml(m_evalPage->driftOverTimeChart(), tr("Drift over time"));
        html += tableHtml(m_evalPage->qualityModel(), tr("Data quality and PII"));
    }
    html += "</body></html>";
    m_html = html;
    m_view->setHtml(html);
}

QString ReportPage::exportTo(const QString &path)
{
    if (QFileInfo(path).suffix().compare("pdf", Qt::CaseInsensitive) == 0) {
        QPdfWriter writer(path);
        writer.setPageSize(QPageSize(QPageSize::A4));
        writer.setTitle(tr("Evaluation report"));
        QTextDocument document;
        document.setHtml(m_html);
        document.setPageSize(QSizeF(writer.width(), writer.height()));
        document.print(&writer);
        return QFileInfo(path).size() > 0 ? QString() : tr("Cannot write %1").arg(path);
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    file.write(m_html.toUtf8());
    if (!file.commit())
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    emit exported(path);
    return {};
}

void ReportPage::exportDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export report"), "report.html",
                                                      tr("HTML (*.html);;PDF (*.pdf)"));
    if (path.isEmpty())
        return;
    const QString error = exportTo(path);
    if (!error.isEmpty())
        emit errorOccurred(error);
}

} // namespace sb::ui
