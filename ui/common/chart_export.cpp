#include "ui/common/chart_export.h"

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QMessageBox>
#include <QPainter>
#include <QSvgGenerator>
#include <QWidget>

namespace sb::ui {

QString exportWidget(QWidget *widget, const QString &path)
{
    const QSize size = widget->size();
    if (QFileInfo(path).suffix().compare("svg", Qt::CaseInsensitive) == 0) {
        QSvgGenerator generator;
        generator.setFileName(path);
        generator.setSize(size);
        generator.setViewBox(QRect(QPoint(0, 0), size));
        generator.setTitle(widget->windowTitle());
        QPainter painter;
        if (!painter.begin(&generator))
            return QObject::tr("Cannot write %1").arg(path);
        widget->render(&painter);
        painter.end();
        return {};
    }
    QImage image(size * 2, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(2.0);
    image.fill(widget->palette().color(QPalette::Window));
    QPainter painter(&image);
    widget->render(&painter);
    painter.end();
    if (!image.save(path))
        return QObject::tr("Cannot write %1").arg(path);
    return {};
}

void installExportMenu(QWidget *widget, const QString &baseName)
{
    widget->setContextMenuPolicy(Qt::ActionsContextMenu);
    auto *action = new QAction(QObject::tr("Export as PNG/SVG..."), widget);
    QObject::connect(action, &QAction::triggered, widget, [widget, baseName]() {
        const QString path =
            QFileDialog::getSaveFileName(widget, QObject::tr("Export chart"), baseName + ".png",
                                         QObject::tr("PNG image (*.png);;SVG drawing (*.svg)"));
        if (path.isEmpty())
            return;
        const QString error = exportWidget(widget, path);
        if (!error.isEmpty())
            QMessageBox::warning(widget, QObject::tr("Export chart"), error);
    });
    widget->addAction(action);
}

} // namespace sb::ui
