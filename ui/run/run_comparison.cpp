#include "ui/run/run_comparison.h"

#include "ui/common/chart_export.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QValueAxis>

#include <cmath>
#include <limits>

namespace sb::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString figureName(RunComparisonModel::Figure figure, const QString &device)
{
    using Figure = RunComparisonModel::Figure;
    switch (figure) {
    case Figure::Throughput:
        return QObject::tr("Throughput /s");
    case Figure::LatencyP50:
        return QObject::tr("p50 ms");
    case Figure::LatencyP90:
        return QObject::tr("p90 ms");
    case Figure::Bubble:
        return QObject::tr("Bubble %");
    case Figure::IdealBubble:
        return QObject::tr("(p-1)/(m+p-1) %");
    case Figure::Batch:
        return QObject::tr("Batch");
    case Figure::Microbatches:
        return QObject::tr("Micro-batches");
    case Figure::StageTime:
        return QObject::tr("%1 stage ms").arg(device);
    case Figure::PeakMemory:
        return QObject::tr("%1 peak MB").arg(device);
    }
    return {};
}

// The short column/category name of a run: "#12, 4 mb" (stored) or "4 mb".
QString shortLabel(const RunOutcome &run)
{
    const QString mb = QObject::tr("%1 mb").arg(run.microbatchesUsed);
    if (run.storeId > 0)
        return QStringLiteral("#%1, %2").arg(run.storeId).arg(mb);
    return run.estimate ? QObject::tr("what-if, %1").arg(mb) : mb;
}

const RunStage *stageOn(const RunOutcome &run, const QString &device)
{
    for (const RunStage &stage : run.stages)
        if (stage.device == device)
            return &stage;
    return nullptr;
}

} // namespace

RunComparisonModel::RunComparisonModel(QObject *parent) : QAbstractTableModel(parent) {}

void RunComparisonModel::setRuns(const QVector<RunOutcome> &runs)
{
    beginResetModel();
    m_runs = runs;
    m_devices.clear();
    for (const RunOutcome &run : m_runs)
        for (const RunStage &stage : run.stages)
            if (!m_devices.contains(stage.device))
                m_devices << stage.device;
    m_rows.clear();
    for (Figure figure : {Figure::Throughput, Figure::LatencyP50, Figure::LatencyP90,
                          Figure::Bubble, Figure::IdealBubble, Figure::Batch, Figure::Microbatches})
        m_rows.push_back({figure, {}});
    for (const QString &device : m_devices)
        m_rows.push_back({Figure::StageTime, device});
    for (const QString &device : m_devices)
        m_rows.push_back({Figure::PeakMemory, device});
    endResetModel();
}

int RunComparisonModel::rowOf(Figure figure, const QString &device) const
{
    for (int r = 0; r < m_rows.size(); ++r)
        if (m_rows[r].figure == figure && m_rows[r].device == device)
            return r;
    return -1;
}

double RunComparisonModel::value(Figure figure, int column, const QString &device) const
{
    const int row = rowOf(figure, device);
    if (row < 0 || column < 0 || column >= m_runs.size())
        return kNaN;
    return valueFor(m_rows[row], m_runs[column]);
}

double RunComparisonModel::valueFor(const Row &row, const RunOutcome &run) const
{
    switch (row.figure) {
    case Figure::Throughput:
        return run.throughput;
    case Figure::LatencyP50:
        return run.latencyP50;
    case Figure::LatencyP90:
        return run.latencyP90;
    case Figure::Bubble:
        return run.bubble * 100.0;
    case Figure::IdealBubble:
        return run.idealBubble * 100.0;
    case Figure::Batch:
        return run.config.batch > 0 ? double(run.config.batch) : kNaN;
    case Figure::Microbatches:
        return run.microbatchesUsed > 0 ? double(run.microbatchesUsed) : kNaN;
    case Figure::StageTime: {
        const RunStage *stage = stageOn(run, row.device);
        return stage ? stage->computeMs : kNaN;
    }
    case Figure::PeakMemory: {
        const RunStage *stage = stageOn(run, row.device);
        // A what-if estimate has no measured peak: 0 there means "not measured".
        return stage && !run.estimate ? double(stage->peakMemoryBytes) / 1048576.0 : kNaN;
    }
    }
    return kNaN;
}

int RunComparisonModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int RunComparisonModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_runs.size());
}

QVariant RunComparisonModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size() || index.column() >= m_runs.size())
        return {};
    const Row &row = m_rows[index.row()];
    const double v = valueFor(row, m_runs[index.column()]);
    switch (role) {
    case ValueRole:
        return v;
    case Qt::DisplayRole: {
        if (std::isnan(v))
            return QString();
        const bool integral = row.figure == Figure::Batch || row.figure == Figure::Microbatches;
        return QString::number(v, 'f', integral ? 0 : (std::abs(v) >= 100 ? 1 : 2));
    }
    case Qt::TextAlignmentRole:
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    default:
        return {};
    }
}

QVariant RunComparisonModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal) {
        if (section < 0 || section >= m_runs.size())
            return {};
        if (role == Qt::DisplayRole)
            return shortLabel(m_runs[section]);
        if (role == Qt::ToolTipRole)
            return m_runs[section].label;
        return {};
    }
    if (section < 0 || section >= m_rows.size() || role != Qt::DisplayRole)
        return {};
    return figureName(m_rows[section].figure, m_rows[section].device);
}

RunComparisonView::RunComparisonView(RunComparisonModel *model, QWidget *parent)
    : QWidget(parent), m_model(model)
{
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(2, 2, 2, 2);
    m_hint = new QLabel(tr("Select two or more runs in the list above (Ctrl+click) to compare "
                           "them side by side."),
                        this);
    m_hint->setWordWrap(true);
    grid->addWidget(m_hint, 0, 0, 1, 3);
    const QStringList names = {"compare_throughput", "compare_latency", "compare_bubble",
                               "compare_stage_time", "compare_memory"};
    for (int i = 0; i < names.size(); ++i) {
        auto *chart = new QChart;
        chart->setMargins(QMargins(2, 2, 2, 2));
        chart->legend()->setAlignment(Qt::AlignBottom);
        auto *view = new QChartView(chart, this);
        view->setRenderHint(QPainter::Antialiasing);
        view->setMinimumSize(220, 190);
        view->setObjectName(names[i]);
        installExportMenu(view, names[i]);
        m_charts << view;
        grid->addWidget(view, 1 + i / 3, i % 3);
    }
    m_table = new QTableView(this);
    m_table->setModel(m_model);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    grid->addWidget(m_table, 2, 2);
    for (int c = 0; c < 3; ++c)
        grid->setColumnStretch(c, 1);
    grid->setRowStretch(1, 1);
    grid->setRowStretch(2, 1);
    connect(m_model, &QAbstractItemModel::modelReset, this, &RunComparisonView::rebuild);
    rebuild();
}

void RunComparisonView::rebuild()
{
    using Figure = RunComparisonModel::Figure;
    QStringList categories;
    for (int c = 0; c < m_model->columnCount(); ++c)
        categories << m_model->headerData(c, Qt::Horizontal).toString();
    m_hint->setVisible(m_model->columnCount() < 2);

    // One grouped bar chart: a bar set per (figure, device) series, runs as categories.
    struct SetSpec
    {
        QString name;
        Figure figure;
        QString device;
    };
    auto fill = [&](QChartView *view, const QString &title, const QString &unit,
                    const QVector<SetSpec> &sets) {
        QChart *chart = view->chart();
        chart->removeAllSeries();
        for (QAbstractAxis *axis : chart->axes())
            chart->removeAxis(axis);
        chart->setTitle(title);
        if (categories.isEmpty())
            return;
        auto *series = new QBarSeries;
        double maxValue = 0;
        for (const SetSpec &spec : sets) {
            auto *set = new QBarSet(spec.name);
            for (int c = 0; c < categories.size(); ++c) {
                const double v = m_model->value(spec.figure, c, spec.device);
                *set << (std::isnan(v) ? 0.0 : v);
                if (!std::isnan(v))
                    maxValue = std::max(maxValue, v);
            }
            series->append(set);
        }
        chart->addSeries(series);
        auto *x = new QBarCategoryAxis;
        x->append(categories);
        auto *y = new QValueAxis;
        y->setTitleText(unit);
        y->setRange(0, maxValue > 0 ? maxValue * 1.1 : 1.0);
        y->applyNiceNumbers();
        y->setLabelFormat(maxValue >= 10 ? "%.0f" : "%.1f");
        chart->addAxis(x, Qt::AlignBottom);
        chart->addAxis(y, Qt::AlignLeft);
        series->attachAxis(x);
        series->attachAxis(y);
        chart->legend()->setVisible(sets.size() > 1);
    };
    fill(m_charts[0], tr("Throughput"), tr("samples/s"),
         {{tr("throughput"), Figure::Throughput, {}}});
    fill(m_charts[1], tr("Latency per micro-batch"), tr("ms"),
         {{tr("p50"), Figure::LatencyP50, {}}, {tr("p90"), Figure::LatencyP90, {}}});
    fill(m_charts[2], tr("Pipeline bubble"), tr("% of stage time"),
         {{tr("measured"), Figure::Bubble, {}}, {tr("(p-1)/(m+p-1)"), Figure::IdealBubble, {}}});
    QVector<SetSpec> stageSets, memorySets;
    for (const QString &device : m_model->devices()) {
        stageSets.push_back({device, Figure::StageTime, device});
        memorySets.push_back({device, Figure::PeakMemory, device});
    }
    fill(m_charts[3], tr("Compute time per stage"), tr("ms"), stageSets);
    fill(m_charts[4], tr("Peak memory per device"), tr("MB"), memorySets);
}

} // namespace sb::ui
