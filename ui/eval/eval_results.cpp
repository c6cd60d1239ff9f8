#include "ui/eval/eval_results.h"
#include "core/common/json_text.h"

#include <QColor>

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

namespace sb::ui {

using nlohmann::json;

namespace {

double number(const json &value)
{
    return value.is_number() ? value.get<double>() : qQNaN();
}

const json &member(const json &object, const char *key)
{
    static const json null;
    if (!object.is_object())
        return null;
    auto it = object.find(key);
    return it == object.end() ? null : *it;
}

// A CI as core/eval writes it: [low, high] (null ends for undefined ones).
std::pair<double, double> interval(const json &ci)
{
    if (ci.is_array() && ci.size() == 2)
        return {number(ci[0]), number(ci[1])};
    return {qQNaN(), qQNaN()};
}

std::vector<MetricRow> overallRows(const json &report, std::optional<eval::Task> task)
{
    std::vector<MetricRow> rows;
    const json &overall = member(report, "overall");
    if (!overall.is_object())
        return rows;
    // The bootstrap intervals: report.ci, keyed by metric (null without bootstrap).
    const json &ci = member(report, "ci");
    auto add = [&](const std::string &name, const json &value) {
        MetricRow row;
        row.name = QString::fromStdString(name);
        row.value = number(value);
        std::tie(row.low, row.high) = interval(member(ci, name.c_str()));
        if (const eval::MetricDefinition *d = eval::findMetric(name, task)) {
            row.direction = d->direction;
            row.description = QString::fromUtf8(d->description.data(),
                                                static_cast<qsizetype>(d->description.size()));
        }
        rows.push_back(row);
    };
    // Table order first, then keys the table does not know (reports of a
    // newer version), in the report's order.
    std::vector<std::string> known;
    if (task)
        for (const eval::MetricDefinition *d : eval::overallMetrics(*task))
            if (overall.contains(std::string(d->name)))
                known.emplace_back(d->name);
    for (const std::string &name : known)
        add(name, overall[name]);
    for (auto it = overall.begin(); it != overall.end(); ++it)
        if (std::find(known.begin(), known.end(), it.key()) == known.end())
            add(it.key(), it.value());
    return rows;
}

void parseWeakSlices(const json &list, EvalResults &out)
{
    if (!list.is_array() || list.empty() || !list.front().is_object())
        return;
    // The slice first, then its figures; other keys keep their order.
    for (const char *key : {"expr", "rows", "metric", "value", "metric_value", "ci", "effect"})
        if (list.front().contains(key))
            out.weakSliceKeys << QString::fromLatin1(key);
    for (auto it = list.front().begin(); it != list.front().end(); ++it)
        if (!out.weakSliceKeys.contains(QString::fromStdString(it.key())))
            out.weakSliceKeys << QString::fromStdString(it.key());
    for (const json &slice : list) {
        if (!slice.is_object())
            continue;
        QStringList row;
        const json &metricName = member(slice, "metric");
        const std::string metric = metricName.is_string() ? metricName.get<std::string>() : "";
        for (const QString &key : out.weakSliceKeys) {
            json value = slice.value(key.toStdString(), json());
            // A CI per metric: show the one of this slice's metric.
            if (value.is_object() && !metric.empty() && value.contains(metric))
                value = value[metric];
            if (value.is_array() && value.size() == 2 && value[0].is_number() &&
                value[1].is_number()) {
                row << QStringLiteral("[%1, %2]")
                           .arg(formatMetric(number(value[0])), formatMetric(number(value[1])));
                continue;
            }
            row << (value.is_number_float() ? formatMetric(number(value)) : reportText(value));
        }
        out.weakSlices << row;
    }
}

} // namespace

QString reportText(const json &value)
{
    if (value.is_string())
        return QString::fromStdString(value.get<std::string>());
    if (value.is_number_integer())
        return QString::number(value.get<std::int64_t>());
    if (value.is_number())
        return QString::number(value.get<double>(), 'g', 6);
    if (value.is_boolean())
        return value.get<bool>() ? QStringLiteral("yes") : QStringLiteral("no");
    if (value.is_null())
        return QString();
    return QString::fromStdString(sb::jsonText(value));
}

std::vector<DriftColumnRow> parseDriftColumns(const json &columns)
{
    std::vector<DriftColumnRow> rows;
    if (!columns.is_array())
        return rows;
    for (const json &column : columns) {
        if (!column.is_object())
            continue;
        const json &drifted = member(column, "drifted");
        rows.push_back(DriftColumnRow{
            reportText(member(column, "name")), reportText(member(column, "method")),
            number(member(column, "statistic")), number(member(column, "p_value")),
            number(member(column, "threshold")), drifted.is_boolean() && drifted.get<bool>()});
    }
    return rows;
}

std::vector<QualityColumnRow> parseQualityColumns(const json &quality)
{
    std::vector<QualityColumnRow> rows;
    const json &columns = member(quality, "columns");
    if (!columns.is_array())
        return rows;
    for (const json &column : columns) {
        if (!column.is_object())
            continue;
        QualityColumnRow row;
        row.name = reportText(member(column, "name"));
        row.type = reportText(member(column, "type"));
        row.missing = number(member(column, "missing"));
        row.missingShare = number(member(column, "missing_share"));
        row.unique = number(member(column, "unique"));
        const json &constant = member(column, "constant");
        row.constant = constant.is_boolean() && constant.get<bool>();
        row.min = reportText(member(column, "min"));
        row.max = reportText(member(column, "max"));
        row.mean = reportText(member(column, "mean"));
        const json &pii = member(column, "pii");
        if (!pii.is_null() && !pii.empty())
            row.pii = reportText(pii);
        rows.push_back(std::move(row));
    }
    return rows;
}

bool sameLabel(const QString &a, const QString &b)
{
    if (a == b)
        return true;
    bool okA = false, okB = false;
    const double x = a.toDouble(&okA), y = b.toDouble(&okB);
    return okA && okB && x == y;
}

QString formatMetric(double value)
{
    return std::isnan(value) ? QStringLiteral("—") : QString::number(value, 'f', 4);
}

EvalResults parseEvalReport(const json &report)
{
    EvalResults out;
    if (!report.is_object())
        return out;
    out.task = reportText(member(report, "task"));
    const std::optional<eval::Task> task = eval::parseTask(out.task.toStdString());
    const json &rows = member(report, "rows");
    out.rows = rows.is_number() ? rows.get<qint64>() : 0;
    out.overall = overallRows(report, task);

    const json &perClass = member(report, "per_class");
    if (perClass.is_array())
        for (const json &row : perClass) {
            const json &support = member(row, "support");
            out.perClass.push_back(
                PerClassRow{reportText(member(row, "label")), number(member(row, "precision")),
                            number(member(row, "recall")), number(member(row, "f1")),
                            support.is_number() ? support.get<qint64>() : 0});
        }

    const json &confusion = member(report, "confusion_matrix");
    if (member(confusion, "labels").is_array())
        for (const json &label : member(confusion, "labels"))
            out.confusionLabels << reportText(label);
    if (member(confusion, "matrix").is_array())
        for (const json &row : member(confusion, "matrix")) {
            QVector<double> counts;
            if (row.is_array())
                for (const json &count : row)
                    counts << (count.is_number() ? count.get<double>() : 0.0);
            out.confusion << counts;
        }

    // Slices: the task's primary metric with its CI.
    if (task)
        out.sliceMetric = QString::fromUtf8(eval::primaryMetric(*task).name.data());
    const json &slices = member(report, "slices");
    if (slices.is_array())
        for (const json &slice : slices) {
            const json &metrics = member(slice, "metrics");
            if (out.sliceMetric.isEmpty() && metrics.is_object() && !metrics.empty())
                out.sliceMetric = QString::fromStdString(metrics.begin().key());
            if (out.sliceMetric.isEmpty())
                continue;
            const std::string metric = out.sliceMetric.toStdString();
            SliceRow row;
            row.name = reportText(member(slice, "name"));
            row.expr = reportText(member(slice, "expr"));
            const json &count = member(slice, "rows");
            row.rows = count.is_number() ? count.get<qint64>() : 0;
            row.value = number(member(metrics, metric.c_str()));
            std::tie(row.low, row.high) = interval(member(member(slice, "ci"), metric.c_str()));
            out.slices.push_back(row);
        }

    parseWeakSlices(member(report, "auto_slices"), out);

    const json &gates = member(report, "gates");
    if (gates.is_array())
        for (const json &gate : gates) {
            const json &passed = member(gate, "passed");
            out.gates.push_back(GateRow{reportText(member(gate, "expr")),
                                        number(member(gate, "value")),
                                        passed.is_boolean() && passed.get<bool>()});
        }
    return out;
}

ReportKind reportKind(const json &report)
{
    if (!report.is_object())
        return ReportKind::Unknown;
    if (report.contains("overall"))
        return ReportKind::Evaluation;
    if (report.contains("dataset_drift") || report.contains("share_drifted"))
        return ReportKind::Drift;
    if (report.contains("duplicate_rows") || report.contains("leakage"))
        return ReportKind::Quality;
    return ReportKind::Unknown;
}

QVector<BarDatum> sliceBars(const EvalResults &results)
{
    QVector<BarDatum> bars;
    for (const SliceRow &slice : results.slices) {
        BarDatum bar;
        bar.label = slice.name;
        bar.value = std::isnan(slice.value) ? 0 : slice.value;
        bar.low = slice.low;
        bar.high = slice.high;
        bar.tooltip = slice.expr;
        bars << bar;
    }
    return bars;
}

// ---- models ----------------------------------------------------------------------

int ReportTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : rows();
}

int ReportTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_headers.size());
}

QVariant ReportTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    return cell(index.row(), index.column(), role);
}

QVariant ReportTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
        section >= m_headers.size())
        return {};
    return m_headers[section];
}

MetricsTableModel::MetricsTableModel(QObject *parent) : ReportTableModel(parent)
{
    setRows({});
}

void MetricsTableModel::setRows(std::vector<MetricRow> rows)
{
    reset({tr("Metric"), tr("Value"), tr("CI low"), tr("CI high")},
          [&]() { m_rows = std::move(rows); });
}

QVariant MetricsTableModel::cell(int r, int column, int role) const
{
    const MetricRow &row = m_rows[std::size_t(r)];
    const double values[] = {qQNaN(), row.value, row.low, row.high};
    if (role == Qt::DisplayRole)
        return column == Name ? QVariant(row.name) : QVariant(formatMetric(values[column]));
    if (role == Qt::UserRole && column != Name)
        return values[column];
    if (role == Qt::ToolTipRole && column == Name) {
        const QString better =
            row.direction == eval::Direction::HigherIsBetter  ? tr("higher is better")
            : row.direction == eval::Direction::LowerIsBetter ? tr("lower is better")
                                                              : QString();
        QStringList parts;
        for (const QString &part : {row.description, better})
            if (!part.isEmpty())
                parts << part;
        return parts.isEmpty() ? QVariant() : QVariant(parts.join(QStringLiteral("; ")));
    }
    if (role == Qt::TextAlignmentRole && column != Name)
        return QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    return {};
}

PerClassModel::PerClassModel(QObject *parent) : ReportTableModel(parent)
{
    setRows({});
}

void PerClassModel::setRows(std::vector<PerClassRow> rows)
{
    reset({tr("Class"), tr("Precision"), tr("Recall"), tr("F1"), tr("Support")},
          [&]() { m_rows = std::move(rows); });
}

QVariant PerClassModel::cell(int r, int column, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    const PerClassRow &row = m_rows[std::size_t(r)];
    switch (column) {
    case 0:
        return row.label;
    case 1:
        return formatMetric(row.precision);
    case 2:
        return formatMetric(row.recall);
    case 3:
        return formatMetric(row.f1);
    default:
        return QString::number(row.support);
    }
}

SliceTableModel::SliceTableModel(QObject *parent) : ReportTableModel(parent)
{
    setSlices({}, {});
}

void SliceTableModel::setSlices(const QString &metric, std::vector<SliceRow> rows)
{
    reset({tr("Slice"), tr("Rows"), metric.isEmpty() ? tr("Value") : metric, tr("CI low"),
           tr("CI high")},
          [&]() { m_rows = std::move(rows); });
}

QVariant SliceTableModel::cell(int r, int column, int role) const
{
    const SliceRow &row = m_rows[std::size_t(r)];
    if (role == Qt::ToolTipRole)
        return row.expr;
    if (role != Qt::DisplayRole)
        return {};
    switch (column) {
    case 0:
        return row.name;
    case 1:
        return QString::number(row.rows);
    case 2:
        return formatMetric(row.value);
    case 3:
        return formatMetric(row.low);
    default:
        return formatMetric(row.high);
    }
}

void KeyedTextModel::setTable(QStringList keys, QVector<QStringList> rows)
{
    reset(std::move(keys), [&]() { m_rows = std::move(rows); });
}

QVariant KeyedTextModel::cell(int r, int column, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    const QStringList &row = m_rows[r];
    return column < row.size() ? row[column] : QString();
}

namespace {

// A count or figure from a report: integers in full, others to 6 digits.
QString figureText(double value)
{
    if (std::isnan(value))
        return QString();
    return value == std::floor(value) && std::abs(value) < 1e15 ? QString::number(qint64(value))
                                                                : QString::number(value, 'g', 6);
}

const QColor kFlagged(0xc6, 0x28, 0x28);

} // namespace

QVector<BarDatum> driftColumnBars(const std::vector<DriftColumnRow> &columns)
{
    QVector<BarDatum> bars;
    for (const DriftColumnRow &column : columns) {
        BarDatum bar;
        bar.label = column.name;
        bar.value = std::isnan(column.statistic) ? 0 : column.statistic;
        bar.flagged = column.drifted;
        bar.tooltip =
            QObject::tr("%1: statistic %2, p %3")
                .arg(column.method, figureText(column.statistic), figureText(column.pValue));
        bars << bar;
    }
    return bars;
}

DriftColumnsModel::DriftColumnsModel(QObject *parent) : ReportTableModel(parent)
{
    setRows({});
}

void DriftColumnsModel::setRows(std::vector<DriftColumnRow> rows)
{
    reset({QStringLiteral("name"), QStringLiteral("method"), QStringLiteral("statistic"),
           QStringLiteral("p_value"), QStringLiteral("threshold"), QStringLiteral("drifted")},
          [&]() { m_rows = std::move(rows); });
}

QVariant DriftColumnsModel::cell(int r, int column, int role) const
{
    const DriftColumnRow &row = m_rows[std::size_t(r)];
    const double values[] = {qQNaN(), qQNaN(), row.statistic, row.pValue, row.threshold, qQNaN()};
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Name:
            return row.name;
        case Method:
            return row.method;
        case Drifted:
            return row.drifted ? tr("yes") : tr("no");
        default:
            return figureText(values[column]);
        }
    case Qt::UserRole:
        if (column == Drifted)
            return row.drifted;
        return column >= Statistic ? QVariant(values[column]) : QVariant();
    case Qt::ForegroundRole:
        return row.drifted ? QVariant(kFlagged) : QVariant();
    default:
        return {};
    }
}

QualityTableModel::QualityTableModel(QObject *parent) : ReportTableModel(parent)
{
    setRows({});
}

void QualityTableModel::setRows(std::vector<QualityColumnRow> rows)
{
    reset({QStringLiteral("name"), QStringLiteral("type"), QStringLiteral("missing"),
           QStringLiteral("missing_share"), QStringLiteral("unique"), QStringLiteral("constant"),
           QStringLiteral("min"), QStringLiteral("max"), QStringLiteral("mean"),
           QStringLiteral("pii")},
          [&]() { m_rows = std::move(rows); });
}

QVariant QualityTableModel::cell(int r, int column, int role) const
{
    const QualityColumnRow &row = m_rows[std::size_t(r)];
    if (role == Qt::ForegroundRole)
        return column == Pii && !row.pii.isEmpty() ? QVariant(kFlagged) : QVariant();
    if (role == Qt::UserRole) {
        const double values[] = {row.missing, row.missingShare, row.unique};
        return column >= Missing && column <= Unique ? QVariant(values[column - Missing])
                                                     : QVariant();
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (column) {
    case Name:
        return row.name;
    case Type:
        return row.type;
    case Missing:
        return figureText(row.missing);
    case MissingShare:
        return figureText(row.missingShare);
    case Unique:
        return figureText(row.unique);
    case Constant:
        return row.constant ? tr("yes") : tr("no");
    case Min:
        return row.min;
    case Max:
        return row.max;
    case Mean:
        return row.mean;
    default:
        return row.pii;
    }
}

ConfusionRowsModel::ConfusionRowsModel(QObject *parent) : ReportTableModel(parent)
{
    clear();
}

void ConfusionRowsModel::setDataset(QStringList header, QVector<QStringList> rows, int labelColumn,
                                    int predictionColumn)
{
    reset({tr("row")}, [&]() {
        m_header = std::move(header);
        m_data = std::move(rows);
        m_labelColumn = labelColumn;
        m_predictionColumn = predictionColumn;
        m_selected.clear();
        m_matched = 0;
    });
}

void ConfusionRowsModel::clear()
{
    reset({tr("row")}, [&]() {
        m_selected.clear();
        m_matched = 0;
    });
}

bool ConfusionRowsModel::select(const QString &actual, const QString &predicted, int limit)
{
    std::vector<int> selected;
    int matched = 0;
    const bool known = m_labelColumn >= 0 && m_predictionColumn >= 0;
    if (known)
        for (int r = 0; r < m_data.size(); ++r) {
            const QStringList &row = m_data[r];
            if (row.size() <= std::max(m_labelColumn, m_predictionColumn) ||
                !sameLabel(row[m_labelColumn], actual) ||
                !sameLabel(row[m_predictionColumn], predicted))
                continue;
            if (matched++ < limit)
                selected.push_back(r);
        }
    reset(QStringList{tr("row")} + m_header, [&]() {
        m_selected = std::move(selected);
        m_matched = matched;
    });
    return known;
}

QVariant ConfusionRowsModel::cell(int r, int column, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    const int dataRow = m_selected[std::size_t(r)];
    if (column == 0)
        return QString::number(dataRow + 1);
    const QStringList &row = m_data[dataRow];
    return column - 1 < row.size() ? row[column - 1] : QString();
}

} // namespace sb::ui
