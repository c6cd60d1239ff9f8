// Deployments: serve the version active in an environment over the Open
// Inference Protocol (core/serve, in this process), watch it live and see
// the monitoring windows and alerts the server writes to the store.
//
// Start/stop and every refresh run on worker threads; the GUI thread only
// applies results to the models (ServeSeriesModel, MonitorWindowModel,
// alerts) that the charts and tables show.
#pragma once

#include "core/serve/server.h"
#include "ui/common/page.h"
#include "ui/common/task_runner.h"
#include "ui/deploy/serve_series_model.h"

#include <QWidget>

#include <memory>

class QChart;
class QComboBox;
class QLabel;
class QLineSeries;
class QPushButton;
class QSpinBox;
class QStandardItemModel;
class QTimer;

namespace sb::ui {

class DeploymentsPage : public QWidget, public Page
{
    Q_OBJECT
public:
    // Page
    QString title() const override { return tr("&Deployments"); }
    QWidget *widget() override { return this; }

    explicit DeploymentsPage(TaskRunner *tasks, QWidget *parent = nullptr);
    ~DeploymentsPage() override;

    // Serves the version active in `env` on 127.0.0.1:`port` (0 = any free port).
    void startServing(const QString &env, int port);
    void stopServing();
    bool serving() const { return m_server != nullptr; }
    // The bound URL while serving ("http://127.0.0.1:PORT").
    QString url() const;
    // Takes one sample now (off the GUI thread; `refreshed` when applied).
    void refreshNow();
    void setRefreshInterval(int msec);

    ServeSeriesModel *seriesModel() const { return m_series; }
    MonitorWindowModel *windowModel() const { return m_windows; }
    QStandardItemModel *alertModel() const { return m_alerts; }
    QString statusText() const;

signals:
    void servingChanged(bool serving);
    void refreshed();
    void errorOccurred(const QString &message);

private:
    void applySample(const serve::MetricsSnapshot &snapshot,
                     const std::vector<store::MonitorWindowRecord> &windows,
                     const std::vector<store::MonitorAlertRecord> &alerts);
    void updateCharts();

    TaskRunner *m_tasks;
    std::shared_ptr<serve::InferenceServer> m_server;
    QString m_model;
    QComboBox *m_env;
    QSpinBox *m_port;
    QPushButton *m_start, *m_stop;
    QLabel *m_status;
    QTimer *m_timer;
    bool m_refreshing = false;
    ServeSeriesModel *m_series;
    MonitorWindowModel *m_windows;
    QStandardItemModel *m_alerts;
    QLineSeries *m_rps, *m_p50, *m_p99, *m_queue, *m_batch, *m_drift, *m_estimated, *m_realized;
    std::vector<QChart *> m_charts;
    // The periodic refresh (live figures, stored windows and alerts) runs
    // here, not on the window's runner: it is not a task the user waits for.
    // Last member: destroyed first, it waits for a refresh in flight.
    TaskRunner m_refresher;
};

} // namespace sb::ui
