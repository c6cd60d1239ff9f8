#include "ui/deploy/deploy_page.h"

#include "core/serve/engine.h"
#include "kernels/registry.h"
#include "ui/common/store_access.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QCoreApplication>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>

namespace sb::ui {

namespace {

QChart *makeChart(const QString &title, std::initializer_list<QLineSeries *> series)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    for (QLineSeries *s : series)
        chart->addSeries(s);
    chart->createDefaultAxes();
    return chart;
}

QLineSeries *line(const QString &name)
{
    auto *series = new QLineSeries;
    series->setName(name);
    return series;
}

void fitAxes(QChart *chart)
{
    double minX = 0, maxX = 1, maxY = 0;
    bool any = false;
    for (QAbstractSeries *abstract : chart->series()) {
        auto *series = static_cast<QLineSeries *>(abstract);
        for (const QPointF &p : series->points()) {
            minX = any ? std::min(minX, p.x()) : p.x();
            maxX = any ? std::max(maxX, p.x()) : p.x();
            maxY = std::max(maxY, p.y());
            any = true;
        }
    }
    const auto horizontal = chart->axes(Qt::Horizontal);
    const auto vertical = chart->axes(Qt::Vertical);
    if (!horizontal.isEmpty())
        horizontal.front()->setRange(minX, std::max(maxX, minX + 1));
    if (!vertical.isEmpty())
        vertical.front()->setRange(0, maxY > 0 ? maxY * 1.1 : 1);
}

} // namespace

DeploymentsPage::DeploymentsPage(TaskRunner *tasks, QWidget *parent)
    : QWidget(parent), m_tasks(tasks), m_series(new ServeSeriesModel(this)),
      m_windows(new MonitorWindowModel(this)), m_alerts(new QStandardItemModel(0, 4, this))
{
    m_alerts->setHorizontalHeaderLabels({tr("Time"), tr("Version"), tr("Trigger"), tr("Rule")});
    auto *layout = new QVBoxLayout(this);
    auto *top = new QHBoxLayout;
    m_env = new QComboBox(this);
    m_env->setEditable(true);
    m_env->addItems({"staging", "production"});
    m_port = new QSpinBox(this);
    m_port->setRange(0, 65535);
    m_port->setValue(8000);
    m_port->setToolTip(tr("Port on 127.0.0.1 (0 = any free port)"));
    m_start = new QPushButton(tr("Start Serving"), this);
    m_start->setObjectName("startServing");
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setObjectName("stopServing");
    m_stop->setEnabled(false);
    m_status = new QLabel(tr("Not serving."), this);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    top->addWidget(new QLabel(tr("Environment:"), this));
    top->addWidget(m_env);
    top->addWidget(new QLabel(tr("Port:"), this));
    top->addWidget(m_port);
    top->addWidget(m_start);
    top->addWidget(m_stop);
    top->addWidget(m_status, 1);
    layout->addLayout(top);

    m_rps = line(tr("requests/s"));
    m_p50 = line(tr("p50 ms"));
    m_p99 = line(tr("p99 ms"));
    m_queue = line(tr("queue depth"));
    m_batch = line(tr("mean batch size"));
    m_drift = line(tr("drift share"));
    m_estimated = line(tr("estimated (CBPE)"));
    m_realized = line(tr("realized"));
    m_charts = {makeChart(tr("Throughput"), {m_rps}), makeChart(tr("Latency"), {m_p50, m_p99}),
                makeChart(tr("Queue and batching"), {m_queue, m_batch}),
                makeChart(tr("Drift share per window"), {m_drift}),
                makeChart(tr("Accuracy per window (estimate valid when calibrated)"),
                          {m_estimated, m_realized})};
    auto *grid = new QGridLayout;
    for (std::size_t i = 0; i < m_charts.size(); ++i) {
        auto *view = new QChartView(m_charts[i], this);
        view->setMinimumHeight(160);
        grid->addWidget(view, static_cast<int>(i) / 3, static_cast<int>(i) % 3);
    }
    auto *splitter = new QSplitter(Qt::Vertical, this);
    auto *chartsWidget = new QWidget(splitter);
    chartsWidget->setLayout(grid);
    auto *tables = new QSplitter(Qt::Horizontal, splitter);
    auto *windowsView = new QTableView(tables);
    windowsView->setModel(m_windows);
    windowsView->horizontalHeader()->setStretchLastSection(true);
    auto *alertsView = new QTableView(tables);
    alertsView->setModel(m_alerts);
    alertsView->horizontalHeader()->setStretchLastSection(true);
    splitter->addWidget(chartsWidget);
    splitter->addWidget(tables);
    layout->addWidget(splitter, 1);

    m_timer = new QTimer(this);
    m_timer->setInterval(1000);
    connect(m_timer, &QTimer::timeout, this, &DeploymentsPage::refreshNow);
    connect(m_start, &QPushButton::clicked, this,
            [this] { startServing(m_env->currentText(), m_port->value()); });
    connect(m_stop, &QPushButton::clicked, this, &DeploymentsPage::stopServing);
}

DeploymentsPage::~DeploymentsPage()
{
    if (m_server)
        m_server->stop();
}

QString DeploymentsPage::url() const
{
    return m_server ? QString::fromStdString(m_server->url()) : QString();
}

QString DeploymentsPage::statusText() const
{
    return m_status->text();
}

void DeploymentsPage::setRefreshInterval(int msec)
{
    m_timer->setInterval(msec);
}

void DeploymentsPage::startServing(const QString &env, int port)
{
    if (m_server)
        return;
    m_start->setEnabled(false);
    m_status->setText(tr("Starting %1…").arg(env));
    const std::string envName = env.toStdString();
    const auto database = guiDatabasePath();
    runWithStore<std::shared_ptr<serve::InferenceServer>>(
        m_tasks, tr("Start serving %1").arg(env),
        [envName, port, database](store::Store &db, const CancelToken &)
            -> Result<std::shared_ptr<serve::InferenceServer>> {
            SB_ASSIGN_OR_RETURN(auto active, db.deployments().activeInEnv(envName));
            if (active.empty())
                return makeError(ErrorCode::NotFound, "no model is deployed to '" + envName + "'");
            if (active.size() > 1)
                return makeError(ErrorCode::InvalidInput,
                                 "several models are deployed to '" + envName +
                                     "'; serve one with shardbench-cli serve --env --name");
            SB_ASSIGN_OR_RETURN(auto version,
                                db.models().versionById(active.front().second.modelVersionId));
            serve::EngineSpec spec;
            spec.model = version.filePath;
            spec.name = version.modelName;
            spec.version = std::to_string(version.version);
            spec.modelVersionId = version.id;
            SB_ASSIGN_OR_RETURN(auto engine, serve::Engine::load(spec, kernels::defaultRegistry()));
            serve::ServerOptions options;
            options.port = port;
            options.database = database;
            options.env = envName;
            options.registry = &kernels::defaultRegistry();
            serve::MonitorOptions monitoring;
            monitoring.database = database;
            monitoring.env = envName;
            SB_ASSIGN_OR_RETURN(auto reference, serve::versionReference(db, version.id));
            if (reference)
                monitoring.reference = *reference;
            SB_ASSIGN_OR_RETURN(auto server,
                                serve::InferenceServer::create(options, engine, monitoring));
            SB_TRY(server->start());
            return std::shared_ptr<serve::InferenceServer>(std::move(server));
        },
        this,
        [this, env](Result<std::shared_ptr<serve::InferenceServer>> result) {
            m_start->setEnabled(!result.ok());
            if (!result.ok()) {
                m_status->setText(
                    tr("Not serving: %1").arg(QString::fromStdString(result.error().message)));
                emit errorOccurred(QString::fromStdString(result.error().message));
                return;
            }
            m_server = *result;
            auto engine = m_server->engine();
            m_model = QString::fromStdString(engine->name());
            m_status->setText(
                tr("Serving %1:%2 (%3) at %4")
                    .arg(m_model, QString::fromStdString(engine->version()), env, url()));
            m_stop->setEnabled(true);
            m_series->clear();
            m_timer->start();
            emit servingChanged(true);
        });
}

void DeploymentsPage::stopServing()
{
    if (!m_server)
        return;
    m_timer->stop();
    auto server = std::move(m_server);
    m_stop->setEnabled(false);
    m_status->setText(tr("Stopping…"));
    // Stopping joins the server's threads: off the GUI thread.
    m_tasks->start<bool>(
        tr("Stop serving"),
        [server](const ProgressFn &, const CancelToken &) -> Result<bool> {
            server->stop();
            return true;
        },
        this,
        [this](Result<bool>) {
            m_status->setText(tr("Not serving."));
            m_start->setEnabled(true);
            emit servingChanged(false);
        });
}

void DeploymentsPage::refreshNow()
{
    if (!m_server || m_refreshing)
        return;
    m_refreshing = true;
    auto server = m_server;
    const std::string model = m_model.toStdString();
    const auto database = guiDatabasePath();
    struct Sample
    {
        serve::MetricsSnapshot snapshot;
        std::vector<store::MonitorWindowRecord> windows;
        std::vector<store::MonitorAlertRecord> alerts;
    };
    m_refresher.start<Sample>(
        tr("Refreshing the deployment"),
        [server, model, database](const ProgressFn &, const CancelToken &) -> Result<Sample> {
            Sample sample;
            sample.snapshot = server->snapshot();
            if (auto db = store::Store::open(database)) {
                if (auto w = (*db)->monitor().windows(model, {}, 200))
                    sample.windows = std::move(*w);
                if (auto a = (*db)->monitor().alerts(model))
                    sample.alerts = std::move(*a);
            }
            return sample;
        },
        this,
        [this](Result<Sample> sample) {
            m_refreshing = false;
            if (sample)
                applySample(sample->snapshot, sample->windows, sample->alerts);
        });
}

void DeploymentsPage::applySample(const serve::MetricsSnapshot &snapshot,
                                  const std::vector<store::MonitorWindowRecord> &windows,
                                  const std::vector<store::MonitorAlertRecord> &alerts)
{
    m_series->append(snapshot);
    m_windows->setWindows(windows);
    m_alerts->setRowCount(0);
    for (const auto &alert : alerts) {
        QList<QStandardItem *> row{new QStandardItem(QString::fromStdString(alert.createdAt)),
                                   new QStandardItem(QString::fromStdString(alert.version)),
                                   new QStandardItem(QString::fromStdString(alert.trigger)),
                                   new QStandardItem(QString::fromStdString(alert.rule))};
        m_alerts->appendRow(row);
    }
    updateCharts();
    emit refreshed();
}

void DeploymentsPage::updateCharts()
{
    auto fill = [this](QLineSeries *series, ServeSeriesModel::Column column) {
        QList<QPointF> points;
        for (int r = 0; r < m_series->rowCount(); ++r)
            points.append({m_series->value(r, ServeSeriesModel::Time), m_series->value(r, column)});
        series->replace(points);
    };
    fill(m_rps, ServeSeriesModel::RequestsPerSecond);
    fill(m_p50, ServeSeriesModel::LatencyP50);
    fill(m_p99, ServeSeriesModel::LatencyP99);
    fill(m_queue, ServeSeriesModel::QueueDepth);
    fill(m_batch, ServeSeriesModel::BatchSize);
    QList<QPointF> drift, estimated, realized;
    int i = 0;
    for (const auto &w : m_windows->windows()) {
        if (w.shareDrifted)
            drift.append({double(i), *w.shareDrifted});
        if (w.estimatedAccuracy)
            estimated.append({double(i), *w.estimatedAccuracy});
        if (w.realizedAccuracy)
            realized.append({double(i), *w.realizedAccuracy});
        ++i;
    }
    m_drift->replace(drift);
    m_estimated->replace(estimated);
    m_realized->replace(realized);
    for (QChart *chart : m_charts)
        fitAxes(chart);
}

} // namespace sb::ui
