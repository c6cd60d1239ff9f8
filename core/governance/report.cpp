#include "core/governance/report.h"
#include "core/common/json_text.h"

#include "core/governance/checklist.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace sb::governance {

using store::Json;

namespace {

std::optional<double> number(const Json &object, const char *key)
{
    if (object.is_object() && object.contains(key) && object[key].is_number())
        return object[key].get<double>();
    return std::nullopt;
}

std::string text(const Json &object, const char *key)
{
    if (object.is_object() && object.contains(key)) {
        const Json &value = object[key];
        if (value.is_string())
            return value.get<std::string>();
        if (!value.is_null())
            return value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    return {};
}

std::string fmt(double value, int digits = 4)
{
    if (!std::isfinite(value))
        return "n/a";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
    return buffer;
}

std::string fmtJson(const Json &value)
{
    if (value.is_number_float())
        return fmt(value.get<double>());
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_null())
        return "-";
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// [lo, hi] or {"lower": lo, "upper": hi} -> pair.
std::optional<std::pair<double, double>> interval(const Json &ci)
{
    if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number())
        return std::make_pair(ci[0].get<double>(), ci[1].get<double>());
    if (ci.is_object()) {
        auto lo = number(ci, "lower");
        auto hi = number(ci, "upper");
        if (!lo)
            lo = number(ci, "lower_bound");
        if (!hi)
            hi = number(ci, "upper_bound");
        if (lo && hi)
            return std::make_pair(*lo, *hi);
    }
    return std::nullopt;
}

const Json &field(const Json &object, const char *key)
{
    static const Json null;
    if (object.is_object() && object.contains(key))
        return object[key];
    return null;
}

// The slice metric to chart: accuracy for classification, else the first numeric.
std::string mainSliceMetric(const Json &slices)
{
    std::string fallback;
    for (const Json &slice : slices) {
        const Json &metrics = field(slice, "metrics");
        if (!metrics.is_object())
            continue;
        if (metrics.contains("accuracy"))
            return "accuracy";
        for (auto it = metrics.begin(); it != metrics.end() && fallback.empty(); ++it)
            if (it.value().is_number())
                fallback = it.key();
    }
    return fallback;
}

class Svg
{
public:
    Svg(int width, int height) : m_width(width), m_height(height)
    {
        m_out << "<svg width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
              << width << " " << height
              << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">"
              << "<rect x=\"0\" y=\"0\" width=\"" << width << "\" height=\"" << height
              << "\" fill=\"#ffffff\"/>";
    }
    Svg &rect(double x, double y, double w, double h, const std::string &fill,
              const std::string &title = {})
    {
        m_out << "<rect x=\"" << fmt(x, 6) << "\" y=\"" << fmt(y, 6) << "\" width=\""
              << fmt(std::max(0.0, w), 6) << "\" height=\"" << fmt(std::max(0.0, h), 6)
              << "\" fill=\"" << fill << "\"";
        if (!title.empty())
            m_out << "><title>" << htmlEscape(title) << "</title></rect>";
        else
            m_out << "/>";
        return *this;
    }
    Svg &line(double x1, double y1, double x2, double y2, const std::string &stroke,
              double width = 1, bool dashed = false)
    {
        m_out << "<line x1=\"" << fmt(x1, 6) << "\" y1=\"" << fmt(y1, 6) << "\" x2=\"" << fmt(x2, 6)
              << "\" y2=\"" << fmt(y2, 6) << "\" stroke=\"" << stroke << "\" stroke-width=\""
              << width << "\"" << (dashed ? " stroke-dasharray=\"4 3\"" : "") << "/>";
        return *this;
    }
    Svg &circle(double x, double y, double r, const std::string &fill)
    {
        m_out << "<circle cx=\"" << fmt(x, 6) << "\" cy=\"" << fmt(y, 6) << "\" r=\"" << r
              << "\" fill=\"" << fill << "\"/>";
        return *this;
    }
    Svg &label(double x, double y, const std::string &content, const char *anchor = "start",
               const std::string &fill = "#222222", int size = 11)
    {
        m_out << "<text x=\"" << fmt(x, 6) << "\" y=\"" << fmt(y, 6) << "\" text-anchor=\""
              << anchor << "\" fill=\"" << fill << "\" font-size=\"" << size << "\">"
              << htmlEscape(content) << "</text>";
        return *this;
    }
    std::string finish()
    {
        m_out << "</svg>";
        return m_out.str();
    }
    int width() const { return m_width; }
    int height() const { return m_height; }

private:
    std::ostringstream m_out;
    int m_width, m_height;
};

std::optional<ReportChart> reliabilityChart(const Json &evaluation)
{
    const Json &bins = field(field(evaluation, "calibration"), "bins");
    if (!bins.is_array() || bins.empty())
        return std::nullopt;
    const int w = 360, h = 300, left = 48, top = 24, plot = 220;
    Svg svg(w, h);
    svg.rect(left, top, plot, plot, "#f7f7f7");
    for (int i = 0; i <= 4; ++i) {
        double v = i / 4.0;
        svg.line(left, top + plot - v * plot, left + plot, top + plot - v * plot, "#dddddd");
        svg.label(left - 6, top + plot - v * plot + 4, fmt(v, 2), "end");
        svg.label(left + v * plot, top + plot + 16, fmt(v, 2), "middle");
    }
    svg.line(left, top + plot, left + plot, top, "#888888", 1, true); // perfect calibration
    for (const Json &bin : bins) {
        auto lower = number(bin, "lower"), upper = number(bin, "upper");
        auto accuracy = number(bin, "accuracy"), confidence = number(bin, "confidence");
        if (!lower || !upper || !accuracy)
            continue;
        double x = left + *lower * plot, width = (*upper - *lower) * plot;
        std::string tip = "(" + fmt(*lower, 3) + ", " + fmt(*upper, 3) + "]: accuracy " +
                          fmt(*accuracy, 3) +
                          (confidence ? ", confidence " + fmt(*confidence, 3) : std::string()) +
                          ", n=" + fmtJson(field(bin, "count"));
        svg.rect(x + 1, top + plot - *accuracy * plot, width - 2, *accuracy * plot, "#4c78a8", tip);
        if (confidence)
            svg.circle(left + *confidence * plot, top + plot - *accuracy * plot, 3, "#e45756");
    }
    svg.label(left + plot / 2, h - 16, "confidence (bins); dots at mean confidence", "middle");
    svg.label(left - 30, top - 10, "accuracy");
    std::string ece = fmtJson(field(field(evaluation, "calibration"), "ece"));
    svg.label(left + plot + 10, top + 14, "ECE " + ece);
    return ReportChart{"reliability", "Reliability diagram", svg.finish(), w, h};
}

std::optional<ReportChart> sliceChart(const Json &evaluation)
{
    const Json &slices = field(evaluation, "slices");
    if (!slices.is_array() || slices.empty())
        return std::nullopt;
    std::string metric = mainSliceMetric(slices);
    if (metric.empty())
        return std::nullopt;
    std::optional<double> overall = number(field(evaluation, "overall"), metric.c_str());
    const int rowHeight = 22, left = 170, barWidth = 300;
    const int h = 40 + rowHeight * static_cast<int>(slices.size()) + 20, w = left + barWidth + 90;
    Svg svg(w, h);
    double maxValue = overall.value_or(0);
    for (const Json &slice : slices)
        if (auto v = number(field(slice, "metrics"), metric.c_str()))
            maxValue = std::max(maxValue, *v);
    double scale = maxValue > 1.0 ? maxValue : 1.0;
    svg.label(left, 16,
              metric + " per slice" + (overall ? " (line: overall " + fmt(*overall) + ")" : ""));
    int y = 30;
    for (const Json &slice : slices) {
        auto value = number(field(slice, "metrics"), metric.c_str());
        std::string name = text(slice, "name");
        svg.label(left - 8, y + 15, name.size() > 26 ? name.substr(0, 25) + "..." : name, "end");
        if (value) {
            svg.rect(left, y + 4, *value / scale * barWidth, rowHeight - 8, "#72b7b2",
                     name + ": " + fmt(*value) + " (" + fmtJson(field(slice, "rows")) + " rows)");
            auto ci = interval(field(field(slice, "ci"), metric.c_str()));
            if (ci)
                svg.line(left + ci->first / scale * barWidth, y + rowHeight / 2.0,
                         left + ci->second / scale * barWidth, y + rowHeight / 2.0, "#333333", 1.5);
            svg.label(left + barWidth + 6, y + 15, fmt(*value));
        }
        y += rowHeight;
    }
    if (overall)
        svg.line(left + *overall / scale * barWidth, 26, left + *overall / scale * barWidth, y + 2,
                 "#e45756", 1.5, true);
    return ReportChart{"slices", "Slices", svg.finish(), w, h};
}

std::optional<ReportChart> confusionChart(const Json &evaluation)
{
    const Json &confusion = field(evaluation, "confusion_matrix");
    const Json &labels = field(confusion, "labels");
    const Json &matrix = field(confusion, "matrix");
    if (!labels.is_array() || !matrix.is_array() || labels.empty() ||
        matrix.size() != labels.size())
        return std::nullopt;
    const int n = static_cast<int>(labels.size());
    const int cell = std::max(24, std::min(60, 300 / n)), left = 90, top = 40;
    const int w = left + cell * n + 20, h = top + cell * n + 40;
    double maxCount = 0;
    for (const Json &row : matrix)
        if (row.is_array())
            for (const Json &value : row)
                if (value.is_number())
                    maxCount = std::max(maxCount, value.get<double>());
    Svg svg(w, h);
    svg.label(left + cell * n / 2.0, 14, "predicted", "middle");
    svg.label(10, top + cell * n / 2.0, "true", "start");
    for (int i = 0; i < n; ++i) {
        svg.label(left + cell * i + cell / 2.0, top - 6, fmtJson(labels[i]), "middle");
        svg.label(left - 6, top + cell * i + cell / 2.0 + 4, fmtJson(labels[i]), "end");
        const Json &row = matrix[i];
        for (int j = 0; j < n && row.is_array() && j < static_cast<int>(row.size()); ++j) {
            double count = row[j].is_number() ? row[j].get<double>() : 0;
            double t = maxCount > 0 ? count / maxCount : 0;
            int r = static_cast<int>(247 - t * (247 - 31)),
                g = static_cast<int>(251 - t * (251 - 119)),
                b = static_cast<int>(255 - t * (255 - 180));
            char color[16];
            std::snprintf(color, sizeof color, "#%02x%02x%02x", r, g, b);
            svg.rect(left + cell * j, top + cell * i, cell - 1, cell - 1, color,
                     "true " + fmtJson(labels[i]) + ", predicted " + fmtJson(labels[j]) + ": " +
                         fmt(count, 10));
            svg.label(left + cell * j + cell / 2.0, top + cell * i + cell / 2.0 + 4, fmt(count, 10),
                      "middle", t > 0.5 ? "#ffffff" : "#222222");
        }
    }
    return ReportChart{"confusion", "Confusion matrix", svg.finish(), w, h};
}

std::optional<ReportChart> driftChart(const Json &drift)
{
    const Json &columns = field(drift, "columns");
    if (!columns.is_array() || columns.empty())
        return std::nullopt;
    const int rowHeight = 16, left = 180, barWidth = 280;
    const int count = static_cast<int>(columns.size());
    const int w = left + barWidth + 120, h = 40 + rowHeight * count + 10;
    Svg svg(w, h);
    double maxValue = 0;
    for (const Json &column : columns)
        if (auto statistic = number(column, "statistic"))
            maxValue = std::max(maxValue, std::fabs(*statistic));
    if (maxValue <= 0)
        maxValue = 1;
    svg.label(left, 16, "drift statistic per column (red: drifted)");
    int y = 26;
    for (const Json &column : columns) {
        std::string name = text(column, "name");
        bool drifted = column.is_object() && column.contains("drifted") &&
                       column["drifted"].is_boolean() && column["drifted"].get<bool>();
        auto statistic = number(column, "statistic");
        svg.label(left - 6, y + 12, name.size() > 28 ? name.substr(0, 27) + "..." : name, "end",
                  "#222222", 10);
        if (statistic) {
            svg.rect(
                left, y + 3, std::fabs(*statistic) / maxValue * barWidth, rowHeight - 5,
                drifted ? "#e45756" : "#9ecae9",
                name + ": " + text(column, "method") + " " + fmt(*statistic) +
                    (number(column, "p_value") ? ", p=" + fmt(*number(column, "p_value")) : ""));
            svg.label(left + barWidth + 6, y + 12,
                      text(column, "method") + " " + fmt(*statistic, 3), "start", "#222222", 10);
        }
        y += rowHeight;
    }
    return ReportChart{"drift", "Drift by column", svg.finish(), w, h};
}

std::string statusColor(store::ItemStatus status)
{
    switch (status) {
    case store::ItemStatus::Passed:
    case store::ItemStatus::Approved:
        return "#2e7d32";
    case store::ItemStatus::Failing:
    case store::ItemStatus::Rejected:
        return "#c62828";
    case store::ItemStatus::NeedsWork:
        return "#ef6c00";
    case store::ItemStatus::Open:
        break;
    }
    return "#616161";
}

void keyValueTable(std::ostringstream &out,
                   const std::vector<std::pair<std::string, std::string>> &rows)
{
    out << "<table class=\"kv\">";
    for (const auto &[key, value] : rows)
        out << "<tr><th>" << htmlEscape(key) << "</th><td>" << htmlEscape(value) << "</td></tr>";
    out << "</table>\n";
}

} // namespace

std::string htmlEscape(const std::string &input)
{
    std::string out;
    out.reserve(input.size());
    for (char c : input) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

Result<ReportData> gatherReport(store::Store &store, const store::ModelVersionRecord &version)
{
    ReportData data;
    data.version = version;
    ChecklistService service(store);
    SB_ASSIGN_OR_RETURN(data.checklists, service.describe(version));
    SB_ASSIGN_OR_RETURN(data.evaluation, store.evaluations().latestEvaluation(version.id, "eval"));
    SB_ASSIGN_OR_RETURN(data.quality, store.evaluations().latestEvaluation(version.id, "quality"));
    SB_ASSIGN_OR_RETURN(data.drift, store.evaluations().latestDrift(version.id));
    SB_ASSIGN_OR_RETURN(data.robustness,
                        store.evaluations().latestEvaluation(version.id, "robustness"));
    SB_ASSIGN_OR_RETURN(data.poisoning,
                        store.evaluations().latestEvaluation(version.id, "poisoning"));
    SB_ASSIGN_OR_RETURN(data.privacy, store.evaluations().latestEvaluation(version.id, "privacy"));
    SB_ASSIGN_OR_RETURN(data.run, store.runs().latestRun(version.id));
    if (data.run && data.run->planId) {
        SB_ASSIGN_OR_RETURN(data.plan, store.runs().plan(*data.run->planId));
    }
    SB_ASSIGN_OR_RETURN(data.deployments, store.deployments().history(version.modelName));
    data.generatedAt = store::utcNowIso8601();
    data.generatedBy = store.actor();
    return data;
}

std::vector<ReportChart> reportCharts(const ReportData &data)
{
    std::vector<ReportChart> charts;
    if (data.evaluation) {
        if (auto chart = reliabilityChart(data.evaluation->report))
            charts.push_back(std::move(*chart));
        if (auto chart = sliceChart(data.evaluation->report))
            charts.push_back(std::move(*chart));
        if (auto chart = confusionChart(data.evaluation->report))
            charts.push_back(std::move(*chart));
    }
    if (data.drift)
        if (auto chart = driftChart(data.drift->report))
            charts.push_back(std::move(*chart));
    return charts;
}

std::string renderReportHtml(const ReportData &data, HtmlFlavor flavor)
{
    const bool standalone = flavor == HtmlFlavor::Standalone;
    std::vector<ReportChart> charts = reportCharts(data);
    auto chartHtml = [&](const std::string &id) {
        for (const auto &chart : charts) {
            if (chart.id != id)
                continue;
            if (standalone)
                return "<figure>" + chart.svg + "<figcaption>" + htmlEscape(chart.title) +
                       "</figcaption></figure>\n";
            return "<p><img src=\"chart:" + chart.id + "\" width=\"" + std::to_string(chart.width) +
                   "\" height=\"" + std::to_string(chart.height) + "\"/><br/><i>" +
                   htmlEscape(chart.title) + "</i></p>\n";
        }
        return std::string();
    };
    const auto &version = data.version;
    std::ostringstream out;
    out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        << "<title>Evaluation report - " << htmlEscape(version.label()) << "</title>\n<style>"
        << (standalone
                ? "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:60em;"
                  "color:#222}h1{border-bottom:2px solid #4c78a8}h2{margin-top:1.6em;color:#4c78a8}"
                  "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
                  "padding:3px 8px;text-align:left;vertical-align:top}th{background:#f0f4f8}"
                  "table.kv th{width:14em}figure{display:inline-block;margin:.5em 1em .5em 0}"
                  "figcaption{font-size:.9em;color:#555}.status{font-weight:bold}"
                  ".muted{color:#777}"
                : "td,th{border:1px solid #999;padding:2px 6px}th{background:#e8eef4}")
        << "</style></head><body>\n";
    out << "<h1>Evaluation report: " << htmlEscape(version.label()) << "</h1>\n";
    out << "<p class=\"muted\">Generated " << htmlEscape(data.generatedAt) << " by "
        << htmlEscape(data.generatedBy) << " with Shardbench " << SHARDBENCH_VERSION << "</p>\n";

    out << "<h2>Model</h2>\n";
    keyValueTable(out, {{"name", version.modelName},
                        {"version", std::to_string(version.version)},
                        {"file", version.filePath},
                        {"sha256", version.sha256},
                        {"size", std::to_string(version.sizeBytes) + " bytes"},
                        {"producer", version.producer},
                        {"opsets", sb::jsonText(version.opsets)},
                        {"registered", version.createdAt + " by " + version.createdBy},
                        {"notes", version.notes}});

    out << "<h2>Metrics</h2>\n";
    if (!data.evaluation) {
        out << "<p class=\"muted\">No evaluation stored for this version.</p>\n";
    } else {
        const Json &report = data.evaluation->report;
        out << "<p>Evaluation #" << data.evaluation->id << " stored "
            << htmlEscape(data.evaluation->createdAt) << " ("
            << htmlEscape(data.evaluation->source.empty() ? "no source recorded"
                                                          : data.evaluation->source)
            << "): " << htmlEscape(fmtJson(field(report, "rows"))) << " rows, task "
            << htmlEscape(fmtJson(field(report, "task"))) << ".</p>\n";
        const Json &overall = field(report, "overall");
        const Json &ci = field(report, "ci");
        if (overall.is_object()) {
            out << "<table><tr><th>metric</th><th>value</th><th>95% CI</th></tr>";
            for (auto it = overall.begin(); it != overall.end(); ++it) {
                auto range = interval(field(ci, it.key().c_str()));
                out << "<tr><td>" << htmlEscape(it.key()) << "</td><td>"
                    << htmlEscape(fmtJson(it.value())) << "</td><td>"
                    << (range ? "[" + fmt(range->first) + ", " + fmt(range->second) + "]" : "")
                    << "</td></tr>";
            }
            out << "</table>\n";
        }
        const Json &perClass = field(report, "per_class");
        if (perClass.is_array() && !perClass.empty()) {
            out << "<table><tr><th>class</th><th>precision</th><th>recall</th><th>f1</th>"
                   "<th>support</th></tr>";
            for (const Json &row : perClass)
                out << "<tr><td>" << htmlEscape(fmtJson(field(row, "label"))) << "</td><td>"
                    << fmtJson(field(row, "precision")) << "</td><td>"
                    << fmtJson(field(row, "recall")) << "</td><td>" << fmtJson(field(row, "f1"))
                    << "</td><td>" << fmtJson(field(row, "support")) << "</td></tr>";
            out << "</table>\n";
        }
        out << chartHtml("confusion");
        out << "<h2>Calibration</h2>\n";
        const Json &calibration = field(report, "calibration");
        if (calibration.is_object()) {
            keyValueTable(out, {{"ECE", fmtJson(field(calibration, "ece"))},
                                {"MCE", fmtJson(field(calibration, "mce"))},
                                {"adaptive ECE", fmtJson(field(calibration, "adaptive_ece"))},
                                {"temperature", fmtJson(field(calibration, "temperature"))},
                                {"ECE after temperature",
                                 fmtJson(field(calibration, "ece_after_temperature"))}});
        }
        out << chartHtml("reliability");
        out << "<h2>Slices</h2>\n";
        const Json &slices = field(report, "slices");
        if (slices.is_array() && !slices.empty()) {
            std::string metric = mainSliceMetric(slices);
            out << "<table><tr><th>slice</th><th>expression</th><th>rows</th><th>"
                << htmlEscape(metric) << "</th><th>95% CI</th></tr>";
            for (const Json &slice : slices) {
                auto range = interval(field(field(slice, "ci"), metric.c_str()));
                out << "<tr><td>" << htmlEscape(text(slice, "name")) << "</td><td>"
                    << htmlEscape(text(slice, "expr")) << "</td><td>"
                    << fmtJson(field(slice, "rows")) << "</td><td>"
                    << fmtJson(field(field(slice, "metrics"), metric.c_str())) << "</td><td>"
                    << (range ? "[" + fmt(range->first) + ", " + fmt(range->second) + "]" : "")
                    << "</td></tr>";
            }
            out << "</table>\n" << chartHtml("slices");
        } else {
            out << "<p class=\"muted\">No slices in the stored evaluation.</p>\n";
        }
        const Json &autoSlices = field(report, "auto_slices");
        if (autoSlices.is_array() && !autoSlices.empty()) {
            out << "<p>Weak slices found by the automatic search: " << autoSlices.size()
                << "</p><ul>";
            for (const Json &slice : autoSlices)
                out << "<li>"
                    << htmlEscape(text(slice, "name").empty() ? fmtJson(slice)
                                                              : text(slice, "name"))
                    << "</li>";
            out << "</ul>\n";
        }
    }

    out << "<h2>Data quality</h2>\n";
    if (!data.quality) {
        out << "<p class=\"muted\">No quality report stored for this version.</p>\n";
    } else {
        const Json &quality = data.quality->report;
        keyValueTable(out, {{"rows", fmtJson(field(quality, "rows"))},
                            {"duplicate rows", fmtJson(field(quality, "duplicate_rows"))},
                            {"label conflicts", fmtJson(field(quality, "label_conflicts"))},
                            {"leakage", fmtJson(field(quality, "leakage"))}});
        const Json &columns = field(quality, "columns");
        if (columns.is_array()) {
            out << "<table><tr><th>column</th><th>type</th><th>missing</th><th>unique</th>"
                   "<th>min</th><th>max</th><th>mean</th><th>PII</th></tr>";
            for (const Json &column : columns)
                out << "<tr><td>" << htmlEscape(text(column, "name")) << "</td><td>"
                    << htmlEscape(text(column, "type")) << "</td><td>"
                    << fmtJson(field(column, "missing_share")) << "</td><td>"
                    << fmtJson(field(column, "unique")) << "</td><td>"
                    << fmtJson(field(column, "min")) << "</td><td>" << fmtJson(field(column, "max"))
                    << "</td><td>" << fmtJson(field(column, "mean")) << "</td><td>"
                    << htmlEscape(field(column, "pii").empty() ? "" : fmtJson(field(column, "pii")))
                    << "</td></tr>";
            out << "</table>\n";
        }
    }

    out << "<h2>Robustness and adversarial risk</h2>\n";
    if (!data.robustness && !data.poisoning && !data.privacy)
        out << "<p class=\"muted\">No robustness, poisoning-screen or membership-inference "
               "report stored for this version.</p>\n";
    if (data.robustness) {
        const Json &r = data.robustness->report;
        out << "<p>Robustness report #" << data.robustness->id << " ("
            << htmlEscape(data.robustness->source) << "): baseline accuracy "
            << fmtJson(field(field(field(r, "baseline"), "metrics"), "accuracy")) << ".</p>\n";
        out << "<table><tr><th>perturbation</th><th>strength</th><th>accuracy</th>"
               "<th>accuracy drop</th><th>ROC AUC</th></tr>";
        for (const Json &point : field(r, "curves"))
            if (field(point, "strength").is_number() && field(point, "strength").get<double>() > 0)
                out << "<tr><td>" << htmlEscape(text(point, "perturbation")) << "</td><td>"
                    << fmtJson(field(point, "strength")) << "</td><td>"
                    << fmtJson(field(field(point, "metrics"), "accuracy")) << "</td><td>"
                    << fmtJson(field(field(point, "drop"), "accuracy")) << "</td><td>"
                    << fmtJson(field(field(point, "metrics"), "roc_auc")) << "</td></tr>";
        out << "</table>\n";
        const Json &sensitivity = field(r, "sensitivity");
        if (sensitivity.is_array() && !sensitivity.empty()) {
            out << "<p>Most sensitive features (one shifted at a time):</p><ol>";
            for (std::size_t i = 0; i < sensitivity.size() && i < 5; ++i)
                out << "<li>" << htmlEscape(text(sensitivity[i], "feature"))
                    << ": mean probability change "
                    << fmtJson(field(sensitivity[i], "mean_proba_change")) << "</li>";
            out << "</ol>\n";
        }
    }
    if (data.poisoning) {
        const Json &summary = field(data.poisoning->report, "summary");
        out << "<p>Poisoning screen #" << data.poisoning->id << " ("
            << htmlEscape(data.poisoning->source) << "):</p>\n";
        keyValueTable(
            out,
            {{"rows", fmtJson(field(summary, "rows"))},
             {"suspicious rows", fmtJson(field(summary, "suspicious_rows"))},
             {"label issue share", fmtJson(field(summary, "label_issue_share")) + " (" +
                                       text(summary, "label_issue_source") + ")"},
             {"kNN label disagreements", fmtJson(field(summary, "knn_label_disagreements"))},
             {"rows in conflicting duplicates", fmtJson(field(summary, "duplicate_conflict_rows"))},
             {"outliers", fmtJson(field(summary, "outliers"))}});
    }
    if (data.privacy) {
        const Json &p = data.privacy->report;
        out << "<p>Membership inference #" << data.privacy->id << " ("
            << htmlEscape(data.privacy->source) << "): " << fmtJson(field(p, "members"))
            << " training rows against " << fmtJson(field(p, "non_members"))
            << " held-out rows.</p>\n<table><tr><th>attack</th><th>AUC</th><th>95% CI</th>"
               "<th>advantage</th></tr>";
        for (const Json &a : field(p, "attacks"))
            out << "<tr><td>" << htmlEscape(text(a, "name")) << "</td><td>"
                << fmtJson(field(a, "auc")) << "</td><td>" << fmtJson(field(a, "auc_ci"))
                << "</td><td>" << fmtJson(field(a, "advantage")) << "</td></tr>";
        out << "</table>\n<ul>";
        for (const Json &line : field(p, "reading"))
            out << "<li>" << htmlEscape(line.is_string() ? line.get<std::string>() : "") << "</li>";
        out << "<li>" << htmlEscape(text(field(p, "model_inversion"), "reading")) << "</li></ul>\n";
    }

    out << "<h2>Drift</h2>\n";
    if (!data.drift) {
        out << "<p class=\"muted\">No drift snapshot stored for this version.</p>\n";
    } else {
        const Json &drift = data.drift->report;
        out << "<p>Snapshot #" << data.drift->id << " stored " << htmlEscape(data.drift->createdAt)
            << ": share of drifted columns " << fmt(data.drift->shareDrifted) << ", dataset drift "
            << (data.drift->datasetDrift ? "<b>yes</b>" : "no") << ".</p>\n";
        out << chartHtml("drift");
        const Json &columns = field(drift, "columns");
        if (columns.is_array()) {
            out << "<table><tr><th>column</th><th>type</th><th>method</th><th>statistic</th>"
                   "<th>p-value</th><th>threshold</th><th>drifted</th></tr>";
            for (const Json &column : columns)
                out << "<tr><td>" << htmlEscape(text(column, "name")) << "</td><td>"
                    << htmlEscape(text(column, "type")) << "</td><td>"
                    << htmlEscape(text(column, "method")) << "</td><td>"
                    << fmtJson(field(column, "statistic")) << "</td><td>"
                    << fmtJson(field(column, "p_value")) << "</td><td>"
                    << fmtJson(field(column, "threshold")) << "</td><td>"
                    << fmtJson(field(column, "drifted")) << "</td></tr>";
            out << "</table>\n";
        }
    }

    out << "<h2>Checklist status</h2>\n";
    const Json &checklists = field(data.checklists, "checklists");
    if (!checklists.is_array() || checklists.empty()) {
        out << "<p class=\"muted\">No governance checklist started for this version.</p>\n";
    } else {
        for (const Json &checklist : checklists) {
            out << "<h3>" << htmlEscape(text(checklist, "title")) << " ("
                << fmtJson(field(checklist, "items_satisfied")) << "/"
                << fmtJson(field(checklist, "items_total")) << " satisfied)</h3>\n"
                << "<table><tr><th>item</th><th>required</th><th>kind</th><th>status</th>"
                   "<th>evidence / sign-off</th></tr>";
            for (const Json &item : field(checklist, "items")) {
                std::string status = text(item, "status");
                std::string detail;
                if (text(item, "kind") == "evidence")
                    detail = text(item, "rule") + "  " +
                             fmtJson(field(field(item, "evidence"), "values"));
                else if (field(item, "signoffs").is_array() && !field(item, "signoffs").empty()) {
                    const Json &last = field(item, "signoffs").back();
                    detail = text(last, "decision") + " by " + text(last, "reviewer") + " at " +
                             text(last, "time") +
                             (text(last, "comment").empty() ? "" : ": " + text(last, "comment"));
                }
                out << "<tr><td>" << htmlEscape(text(item, "id")) << "<br/><span class=\"muted\">"
                    << htmlEscape(text(item, "text")) << "</span></td><td>"
                    << (field(item, "required").is_boolean() && field(item, "required").get<bool>()
                            ? "yes"
                            : "no")
                    << "</td><td>" << htmlEscape(text(item, "kind"))
                    << "</td><td><span class=\"status\" style=\"color:"
                    << statusColor(store::parseItemStatus(status).value_or(store::ItemStatus::Open))
                    << "\">" << htmlEscape(status) << "</span></td><td>" << htmlEscape(detail)
                    << "</td></tr>";
            }
            out << "</table>\n";
        }
        const Json &blocking = field(data.checklists, "blocking");
        out << "<p><b>"
            << (blocking.is_array() && blocking.empty()
                    ? "Ready for promotion."
                    : "Blocking promotion: " + htmlEscape(fmtJson(blocking)))
            << "</b></p>\n";
    }

    out << "<h2>Run, plan and hardware</h2>\n";
    if (!data.run) {
        out << "<p class=\"muted\">No run stored for this version.</p>\n";
    } else {
        const auto &run = *data.run;
        keyValueTable(
            out, {{"run", "#" + std::to_string(run.id) + " " + run.status},
                  {"started", run.startedAt},
                  {"finished", run.finishedAt},
                  {"trace", run.tracePath},
                  {"config", run.config.dump(-1, ' ', false, Json::error_handler_t::replace)},
                  {"timings", run.timings.dump(-1, ' ', false, Json::error_handler_t::replace)},
                  {"metrics", run.metrics.dump(-1, ' ', false, Json::error_handler_t::replace)}});
        if (data.plan)
            keyValueTable(
                out, {{"plan", data.plan->name.empty() ? "#" + std::to_string(data.plan->id)
                                                       : data.plan->name},
                      {"plan file", data.plan->path},
                      {"plan", data.plan->plan.dump(-1, ' ', false, Json::error_handler_t::replace)
                                   .substr(0, 2000)}});
    }

    out << "<h2>Deployments</h2>\n";
    if (data.deployments.empty()) {
        out << "<p class=\"muted\">" << htmlEscape(version.modelName)
            << " has not been deployed.</p>\n";
    } else {
        out << "<table><tr><th>time</th><th>env</th><th>action</th><th>version</th><th>actor</th></"
               "tr>";
        for (const auto &entry : data.deployments)
            out << "<tr><td>" << htmlEscape(entry.createdAt) << "</td><td>" << htmlEscape(entry.env)
                << "</td><td>" << htmlEscape(entry.action) << "</td><td>" << entry.version
                << "</td><td>" << htmlEscape(entry.createdBy) << "</td></tr>";
        out << "</table>\n";
    }
    out << "</body></html>\n";
    return out.str();
}

} // namespace sb::governance
