#include "ui/eval/risk_panel.h"

#include "ui/common/chart_export.h"
#include "ui/common/user_message.h"
#include "ui/eval/charts.h"
#include "ui/eval/risk_models.h"

#include <QChart>
#include <QChartView>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>
#include <QValueAxis>

#include <cmath>

namespace sb::ui {

namespace {

QTableView *makeTable(QAbstractItemModel *model, QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->setModel(model);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setStretchLastSection(true);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setAlternatingRowColors(true);
    view->setMinimumHeight(180);
    QObject::connect(model, &QAbstractItemModel::modelReset, view,
                     [view]() { view->resizeColumnsToContents(); });
    return view;
}

QGroupBox *box(const QString &title, QWidget *parent, std::initializer_list<QWidget *> children)
{
    auto *group = new QGroupBox(title, parent);
    auto *layout = new QVBoxLayout(group);
    for (QWidget *child : children)
        layout->addWidget(child, child->inherits("QLabel") ? 0 : 1);
    return group;
}

QChartView *makeChart(QWidget *parent)
{
    auto *view = new QChartView(new QChart, parent);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumHeight(300);
    return view;
}

} // namespace

RiskPanel::RiskPanel(TaskRunner *tasks, QWidget *parent) : QWidget(parent), m_tasks(tasks)
{
    m_curves = new RobustnessCurveModel(this);
    m_sensitivity = new SensitivityModel(this);
    m_issues = new LabelIssuesModel(this);
    m_mia = new MiaModel(this);

    auto *layout = new QGridLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *inputs = new QGroupBox(tr("Robustness and risk checks"), this);
    auto *form = new QGridLayout(inputs);
    m_train = new QLineEdit(inputs);
    m_train->setObjectName("trainPath");
    m_train->setPlaceholderText(tr("train.csv the model was trained on (membership inference and "
                                   "the poisoning screen; optional)"));
    m_features = new QLineEdit(inputs);
    m_features->setObjectName("riskFeatures");
    m_features->setPlaceholderText(
        tr("feature columns in the model's input order, comma-separated (default: every "
           "numerical column except label, score and prediction columns)"));
    auto *run = new QPushButton(tr("Run Robustness && Risk Checks"), inputs);
    run->setObjectName("riskButton");
    m_status = new QLabel(inputs);
    m_status->setObjectName("riskStatus");
    m_status->setWordWrap(true);
    form->addWidget(new QLabel(tr("Training data:")), 0, 0);
    form->addWidget(m_train, 0, 1);
    form->addWidget(run, 0, 2);
    form->addWidget(new QLabel(tr("Features:")), 1, 0);
    form->addWidget(m_features, 1, 1, 1, 2);
    form->addWidget(m_status, 2, 0, 1, 3);
    form->setColumnStretch(1, 1);
    layout->addWidget(inputs, 0, 0, 1, 2);

    // Robustness section.
    m_curveChart = makeChart(this);
    installExportMenu(m_curveChart, "robustness_curves");
    layout->addWidget(box(tr("Robustness: accuracy vs perturbation strength"), this,
                          {m_curveChart, makeTable(m_curves, this)}),
                      1, 0);
    m_sensitivityChart =
        new BarChartWidget(tr("Sensitivity: mean probability change per feature"), this);
    m_sensitivityChart->setMinimumHeight(300);
    installExportMenu(m_sensitivityChart, "sensitivity");
    layout->addWidget(box(tr("Robustness: sensitivity ranking (one feature shifted at a time)"),
                          this, {m_sensitivityChart, makeTable(m_sensitivity, this)}),
                      1, 1);

    // Risks section.
    auto *issuesLabel = new QLabel(tr("Rows are 0-based data rows of the screened file, most "
                                      "suspicious first."),
                                   this);
    issuesLabel->setWordWrap(true);
    layout->addWidget(box(tr("Risks: label issues and poisoning screen"), this,
                          {makeTable(m_issues, this), issuesLabel}),
                      2, 0);
    m_rocChart = makeChart(this);
    installExportMenu(m_rocChart, "membership_inference_roc");
    m_reading = new QLabel(this);
    m_reading->setObjectName("miaReading");
    m_reading->setWordWrap(true);
    auto *miaTable = makeTable(m_mia, this);
    miaTable->setMinimumHeight(90);
    layout->addWidget(box(tr("Risks: membership inference (ROC of the attacks)"), this,
                          {m_rocChart, miaTable, m_reading}),
                      2, 1);
    layout->setColumnStretch(0, 1);
    layout->setColumnStretch(1, 1);

    connect(run, &QPushButton::clicked, this, &RiskPanel::runRequested);
    buildCurveChart();
    buildRocChart();
}

void RiskPanel::setTrainingPath(const QString &path)
{
    m_train->setText(path);
}

void RiskPanel::setFeatures(const QStringList &features)
{
    m_features->setText(features.join(','));
}

QString RiskPanel::status() const
{
    return m_status->text();
}

QList<QWidget *> RiskPanel::charts() const
{
    return {m_curveChart, m_sensitivityChart, m_rocChart};
}

void RiskPanel::run(RiskRequest request)
{
    if (request.trainPath.isEmpty())
        request.trainPath = m_train->text().trimmed();
    if (request.features.isEmpty())
        for (const QString &f : m_features->text().split(',', Qt::SkipEmptyParts))
            request.features << f.trimmed();
    m_status->setText(tr("Running robustness and risk checks…"));
    m_tasks->start<RiskReports>(
        tr("Robustness and risk checks"),
        [request](const ProgressFn &progress, const CancelToken &cancel) {
            return runRiskChecks(request, progress, cancel);
        },
        this,
        [this](Result<RiskReports> result) {
            if (!result.ok()) {
                const QString message =
                    userMessage(tr("Robustness and risk checks"), result.error());
                m_status->setText(message.toHtmlEscaped());
                emit errorOccurred(message);
                return;
            }
            showReports(result->robustness, result->poisoning, result->privacy);
            m_status->setText(result->storedFor.isEmpty()
                                  ? tr("Done (not stored).")
                                  : tr("Stored for <b>%1</b>: robustness, poisoning screen%2.")
                                        .arg(result->storedFor.toHtmlEscaped(),
                                             result->privacy.is_null()
                                                 ? QString()
                                                 : tr(" and membership inference")));
            emit reportsShown();
        });
}

void RiskPanel::showReports(const nlohmann::json &robustness, const nlohmann::json &poisoning,
                            const nlohmann::json &privacy)
{
    m_curves->setReport(robustness);
    m_sensitivity->setReport(robustness);
    m_issues->setReport(poisoning);
    m_mia->setReport(privacy);
    m_reading->setText(privacy.is_null() ? tr("Membership inference needs the training data.")
                                         : m_mia->reading());
    QVector<BarDatum> bars;
    for (int r = 0; r < m_sensitivity->rowCount() && r < 15; ++r) {
        BarDatum bar;
        bar.label = m_sensitivity->index(r, 1).data().toString();
        bar.value = m_sensitivity->index(r, 2).data(Qt::UserRole).toDouble();
        bar.tooltip = tr("%1: mean probability change %2, worst accuracy drop %3")
                          .arg(bar.label, m_sensitivity->index(r, 2).data().toString(),
                               m_sensitivity->index(r, 3).data().toString());
        bars.push_back(bar);
    }
    m_sensitivityChart->setData(bars, tr("mean |Δp|"));
    buildCurveChart();
    buildRocChart();
}

void RiskPanel::buildCurveChart()
{
    auto *chart = new QChart;
    chart->setTitle(tr("Accuracy vs strength"));
    auto *x = new QValueAxis;
    x->setTitleText(tr("strength"));
    auto *y = new QValueAxis;
    y->setTitleText(tr("accuracy"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    double maxX = 0, minY = 1;
    for (const QString &name : m_curves->perturbations()) {
        auto *series = new QLineSeries;
        series->setName(name);
        series->setPointsVisible(true);
        for (const QPointF &p : m_curves->curve(name)) {
            series->append(p);
            maxX = std::max(maxX, p.x());
            minY = std::min(minY, p.y());
        }
        chart->addSeries(series);
        series->attachAxis(x);
        series->attachAxis(y);
    }
    x->setRange(0, maxX > 0 ? maxX : 1);
    y->setRange(std::max(0.0, std::floor((minY - 0.05) * 20) / 20), 1.0);
    QChart *old = m_curveChart->chart();
    m_curveChart->setChart(chart);
    delete old;
}

void RiskPanel::buildRocChart()
{
    auto *chart = new QChart;
    chart->setTitle(tr("Membership-inference ROC"));
    auto *x = new QValueAxis;
    x->setTitleText(tr("false-positive rate (held-out rows flagged)"));
    x->setRange(0, 1);
    auto *y = new QValueAxis;
    y->setTitleText(tr("true-positive rate (training rows flagged)"));
    y->setRange(0, 1);
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    auto *chance = new QLineSeries;
    chance->setName(tr("chance"));
    chance->append(0, 0);
    chance->append(1, 1);
    QPen dashed(Qt::gray);
    dashed.setStyle(Qt::DashLine);
    chance->setPen(dashed);
    chart->addSeries(chance);
    chance->attachAxis(x);
    chance->attachAxis(y);
    for (int r = 0; r < m_mia->rowCount(); ++r) {
        auto *series = new QLineSeries;
        series->setName(
            tr("%1 (AUC %2)").arg(m_mia->attack(r), m_mia->index(r, 1).data().toString()));
        series->append(m_mia->roc(r));
        chart->addSeries(series);
        series->attachAxis(x);
        series->attachAxis(y);
    }
    QChart *old = m_rocChart->chart();
    m_rocChart->setChart(chart);
    delete old;
}

} // namespace sb::ui
