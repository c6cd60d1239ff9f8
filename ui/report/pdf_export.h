// PDF rendering of the evaluation report through Qt's PDF writer: the
// RichText flavour of core/governance's HTML, with the SVG charts rasterised
// as document image resources. Works headless: when no QGuiApplication exists
// (the CLI), one is created for the call on the offscreen platform.
#pragma once

#include "core/common/result.h"
#include "core/governance/report.h"

#include <filesystem>

namespace sb::ui {

Status exportReportPdf(const governance::ReportData &data, const std::filesystem::path &out);

} // namespace sb::ui
