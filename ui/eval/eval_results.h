// The parts of an `eval` report (issue 5's JSON, as core/eval writes it) the
// Evaluation page shows, parsed once, outside the widgets; and the item
// models the page's tables use.
#pragma once

#include "core/eval/metric_definitions.h"
#include "ui/eval/charts.h"

#include <nlohmann/json.hpp>

#include <QAbstractTableModel>
#include <QStringList>
#include <QVector>

#include <vector>

namespace sb::ui {

struct MetricRow
{
    QString name;
    double value = qQNaN();
    double low = qQNaN(), high = qQNaN(); // the bootstrap CI (report.ci), NaN when none
    // From the metric table; Direction::None for a key the table does not know.
    eval::Direction direction = eval::Direction::None;
    QString description;
};

struct PerClassRow
{
    QString label;
    double precision = qQNaN(), recall = qQNaN(), f1 = qQNaN();
    qint64 support = 0;
};

struct SliceRow
{
    QString name, expr;
    qint64 rows = 0;
    double value = qQNaN();               // of EvalResults::sliceMetric
    double low = qQNaN(), high = qQNaN(); // its CI (slices[].ci)
};

struct GateRow
{
    QString expr;
    double value = qQNaN();
    bool passed = false;
};

struct EvalResults
{
    QString task; // "classification" | "regression" | "" (no report)
    qint64 rows = 0;
    std::vector<MetricRow> overall; // table order (core/eval/metric_definitions.h), then others
    std::vector<PerClassRow> perClass;
    QStringList confusionLabels;
    QVector<QVector<double>> confusion; // [actual][predicted]
    QString sliceMetric;                // the task's primary metric
    std::vector<SliceRow> slices;
    // Weak slices: the column keys (the slice and its figures first) and the
    // cells as text, the CI of the slice's own metric as "[low, high]".
    QStringList weakSliceKeys;
    QVector<QStringList> weakSlices;
    std::vector<GateRow> gates;
};

// One column of a drift report, or of one of its windows (the drill-down).
struct DriftColumnRow
{
    QString name, method;
    double statistic = qQNaN(), pValue = qQNaN(), threshold = qQNaN();
    bool drifted = false;
};

// One column of a data-quality report (missing values, uniques, range, PII).
struct QualityColumnRow
{
    QString name, type;
    double missing = qQNaN(), missingShare = qQNaN(), unique = qQNaN();
    bool constant = false;
    QString min, max, mean; // as the report writes them (numbers or dates)
    QString pii;            // the PII found, empty when none
};

// The "columns" array of a drift report or window; mistyped entries are skipped.
std::vector<DriftColumnRow> parseDriftColumns(const nlohmann::json &columns);
// The "columns" of a quality report.
std::vector<QualityColumnRow> parseQualityColumns(const nlohmann::json &quality);
// Whether two labels name the same class ("1" and "1.0" do).
bool sameLabel(const QString &a, const QString &b);

// Reads a report; missing or mistyped parts are left empty (a report loaded
// from a file may be partial). Never throws.
EvalResults parseEvalReport(const nlohmann::json &report);

// What a JSON report file holds, judged by its keys.
enum class ReportKind
{
    Unknown,
    Evaluation, // has "overall"
    Drift,      // has "dataset_drift" or "share_drifted"
    Quality     // has "duplicate_rows" or "leakage"
};
ReportKind reportKind(const nlohmann::json &report);

// A report value as text: strings as they are, integers in full, other
// numbers to 6 significant digits, booleans yes/no, null empty, else JSON.
QString reportText(const nlohmann::json &value);
// A metric value as the page shows it: 4 decimals, "—" for NaN.
QString formatMetric(double value);
// The slices as bars with their CI as error bars (for the slice chart).
QVector<BarDatum> sliceBars(const EvalResults &results);
// Drift per column as bars of its statistic, drifted ones flagged.
QVector<BarDatum> driftColumnBars(const std::vector<DriftColumnRow> &columns);

// A read-only table with named columns; subclasses say how many rows there
// are and what a cell holds (the row and column are valid).
class ReportTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

protected:
    virtual int rows() const = 0;
    virtual QVariant cell(int row, int column, int role) const = 0;
    // Replaces the headers and, inside a model reset, the rows (`swap`).
    template <typename Swap> void reset(QStringList headers, Swap swap)
    {
        beginResetModel();
        m_headers = std::move(headers);
        swap();
        endResetModel();
    }

private:
    QStringList m_headers;
};

// Overall metrics: Metric, Value, CI low, CI high. The tool tip of the name
// says what the metric is and whether higher or lower is better;
// Qt::UserRole on the other columns is the number.
class MetricsTableModel : public ReportTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        Name,
        Value,
        Low,
        High
    };
    explicit MetricsTableModel(QObject *parent = nullptr);
    void setRows(std::vector<MetricRow> rows);
    const std::vector<MetricRow> &metricRows() const { return m_rows; }

protected:
    int rows() const override { return int(m_rows.size()); }
    QVariant cell(int row, int column, int role) const override;

private:
    std::vector<MetricRow> m_rows;
};

// Per class: Class, Precision, Recall, F1, Support.
class PerClassModel : public ReportTableModel
{
    Q_OBJECT
public:
    explicit PerClassModel(QObject *parent = nullptr);
    void setRows(std::vector<PerClassRow> rows);

protected:
    int rows() const override { return int(m_rows.size()); }
    QVariant cell(int row, int column, int role) const override;

private:
    std::vector<PerClassRow> m_rows;
};

// User slices: Slice, Rows, <metric>, CI low, CI high (expression as tool tip).
class SliceTableModel : public ReportTableModel
{
    Q_OBJECT
public:
    explicit SliceTableModel(QObject *parent = nullptr);
    void setSlices(const QString &metric, std::vector<SliceRow> rows);

protected:
    int rows() const override { return int(m_rows.size()); }
    QVariant cell(int row, int column, int role) const override;

private:
    std::vector<SliceRow> m_rows;
};

// Text cells under keys (the weak slices; their keys depend on the report).
class KeyedTextModel : public ReportTableModel
{
    Q_OBJECT
public:
    using ReportTableModel::ReportTableModel;
    void setTable(QStringList keys, QVector<QStringList> rows);

protected:
    int rows() const override { return int(m_rows.size()); }
    QVariant cell(int row, int column, int role) const override;

private:
    QVector<QStringList> m_rows;
};

// Drift per column: Column, Method, Statistic, p-value, Threshold, Drifted.
// Drifted rows are red (Qt::ForegroundRole); Qt::UserRole on the number
// columns is the number (NaN when the report has none).
class DriftColumnsModel : public ReportTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        Name,
        Method,
        Statistic,
        PValue,
        Threshold,
        Drifted
    };
    explicit DriftColumnsModel(QObject *parent = nullptr);
    void setRows(std::vector<DriftColumnRow> rows);

protected:
    int rows() const override { return int(m_rows.size()); }
    QVariant cell(int row, int column, int role) const override;

private:
    std::vector<DriftColumnRow> m_rows;
};

// Data quality and PII per column: name, type, missing, missing_share,
// unique, constant, min, max, mean, pii (the report's keys as headers).
// Columns with PII are red in the pii cell.
class QualityTableModel : public ReportTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        Name,
        Type,
        Missing,
        MissingShare,
        Unique,
        Constant,
        Min,
        Max,
        Mean,
        Pii
    };
    explicit QualityTableModel(QObject *parent = nullptr);
    void setRows(std::vector<QualityColumnRow> rows);

protected:
    int rows() const override { return int(m_rows.size()); }
    QVariant cell(int row, int column, int role) const override;

private:
    std::vector<QualityColumnRow> m_rows;
};

// The dataset rows of one confusion-matrix cell (actual label, predicted
// label): "row" (1-based line in the data) then the data's columns. At most
// `limit` rows are listed; matchedCount() counts them all.
class ConfusionRowsModel : public ReportTableModel
{
    Q_OBJECT
public:
    explicit ConfusionRowsModel(QObject *parent = nullptr);
    // The data the cells are drawn from (the current CSV); -1 columns when unknown.
    void setDataset(QStringList header, QVector<QStringList> rows, int labelColumn,
                    int predictionColumn);
    // Lists the rows labelled `actual` and predicted `predicted`; false (and
    // nothing listed) when the data or its columns are unknown.
    bool select(const QString &actual, const QString &predicted, int limit = 500);
    void clear();
    int matchedCount() const { return m_matched; }

protected:
    int rows() const override { return int(m_selected.size()); }
    QVariant cell(int row, int column, int role) const override;

private:
    QStringList m_header;
    QVector<QStringList> m_data;
    int m_labelColumn = -1, m_predictionColumn = -1;
    std::vector<int> m_selected; // indices into m_data
    int m_matched = 0;
};

} // namespace sb::ui
