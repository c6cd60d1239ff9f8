// Exports any widget (charts, heatmaps, the graph view) as PNG or SVG, and
// gives every chart a context menu "Export as PNG/SVG...".
#pragma once

#include <QString>

class QWidget;

namespace sb::ui {

// Format from the suffix (.svg -> SVG, anything else -> PNG at 2x). Returns
// an empty string on success, else a readable error.
QString exportWidget(QWidget *widget, const QString &path);

// Adds "Export as PNG/SVG..." to the widget's context menu.
void installExportMenu(QWidget *widget, const QString &baseName);

} // namespace sb::ui
