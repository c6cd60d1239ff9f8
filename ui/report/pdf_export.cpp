#include "ui/report/pdf_export.h"

#include <QFile>
#include <QGuiApplication>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgRenderer>
#include <QTextDocument>
#include <QUrl>

#include <memory>

namespace sb::ui {

namespace {

// QPdfWriter and font rendering need a QGuiApplication.
std::unique_ptr<QGuiApplication> ensureGuiApplication()
{
    if (QCoreApplication::instance())
        return nullptr;
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "shardbench-cli";
    static char *argv[] = {name, nullptr};
    return std::make_unique<QGuiApplication>(argc, argv);
}

} // namespace

Status exportReportPdf(const governance::ReportData &data, const std::filesystem::path &out)
{
    auto application = ensureGuiApplication();
    QTextDocument document;
    document.setDocumentMargin(24);
    for (const auto &chart : governance::reportCharts(data)) {
        QSvgRenderer renderer(QByteArray::fromStdString(chart.svg));
        if (!renderer.isValid())
            return makeError(ErrorCode::Internal, "chart '" + chart.id + "' is not valid SVG");
        // 2x for a crisp raster at print resolution.
        QImage image(chart.width * 2, chart.height * 2, QImage::Format_ARGB32);
        image.fill(Qt::white);
        QPainter painter(&image);
        renderer.render(&painter);
        painter.end();
        document.addResource(QTextDocument::ImageResource,
                             QUrl(QString::fromStdString("chart:" + chart.id)), image);
    }
    document.setHtml(QString::fromStdString(
        governance::renderReportHtml(data, governance::HtmlFlavor::RichText)));

    QString path = QString::fromStdString(out.string());
    {
        QPdfWriter writer(path);
        if (!writer.setPageSize(QPageSize(QPageSize::A4)))
            return makeError(ErrorCode::Internal, "cannot set the PDF page size");
        writer.setResolution(144);
        writer.setTitle(QString::fromStdString("Evaluation report - " + data.version.label()));
        writer.setCreator(QStringLiteral("Shardbench " SHARDBENCH_VERSION));
        document.print(&writer);
    }
    QFile written(path);
    if (!written.exists() || written.size() == 0)
        return makeError(ErrorCode::Io, out.string() + ": the PDF could not be written");
    return Status::success();
}

} // namespace sb::ui
