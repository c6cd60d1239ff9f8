// The workbench window. Centre: a tab per page (Graph, Runs, Evaluation,
// Governance, Registry, Report). Docks (movable, state kept in QSettings):
// devices and the graph outline on the left, details on the right, console,
// timeline and metrics at the bottom. Every long operation goes through the
// TaskRunner with progress and Cancel in the status bar.
#pragma once

#include "ui/common/page.h"
#include "ui/common/stall_probe.h"
#include "ui/common/task_runner.h"
#include "ui/graph/model_data.h"
#include "ui/graph/placement_model.h"

#include <QMainWindow>

#include <vector>

class QAction;
class QComboBox;
class QDockWidget;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QTabWidget;
class QToolButton;
class QTreeView;

namespace sb::ui {

class DetailsPanel;
class DevicesPanel;
class GraphPage;
class GraphTreeModel;
class RunPage;
class EvalPage;
class GovernancePage;
class RegistryPage;
class ReportPage;
class DeploymentsPage;

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Imports a model on a worker; the window shows it when ready.
    void openModel(const QString &path);
    // Shows an already built model (tests, benchmarks).
    void showModel(std::shared_ptr<const ModelData> model);
    void setLocalDeviceCount(int count);
    // Plan files through core/plan (the one plan format); errors name the
    // file, node or device. Loading is one undoable command.
    Status loadPlanFile(const QString &path);
    Status savePlanFile(const QString &path);

    PlacementModel *placement() const { return m_placement; }
    TaskRunner *tasks() const { return m_tasks; }
    GraphPage *graphPage() const { return m_graphPage; }
    DevicesPanel *devicesPanel() const { return m_devicesPanel; }
    RunPage *runPage() const { return m_runPage; }
    EvalPage *evalPage() const { return m_evalPage; }
    GovernancePage *governancePage() const { return m_governancePage; }
    RegistryPage *registryPage() const { return m_registryPage; }
    ReportPage *reportPage() const { return m_reportPage; }
    DeploymentsPage *deploymentsPage() const { return m_deploymentsPage; }
    QTabWidget *pages() const { return m_pages; }
    // The pages behind the tabs, in tab order.
    const std::vector<Page *> &pageList() const { return m_pageList; }
    StallProbe *stallProbe() const { return m_stallProbe; }

    // True while imports, layouts or other tasks are running.
    bool isBusy() const;
    void log(const QString &text);
    void showError(const QString &message);

signals:
    void modelShown();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void createDocks();
    void restoreSettings();
    void saveSettings();
    void addRecentFile(const QString &path);
    void rebuildRecentMenu();
    void openModelDialog();
    void openPlanDialog();
    void savePlan(bool askPath);
    void autoSplit();
    void pinSelection(bool pin);
    void updateTitle();
    QVector<graph::NodeId> selectedNodes() const;

    TaskRunner *m_tasks;
    PlacementModel *m_placement;
    GraphTreeModel *m_treeModel;
    StallProbe *m_stallProbe;

    QTabWidget *m_pages;
    std::vector<Page *> m_pageList; // the tabs, in order
    GraphPage *m_graphPage;
    RunPage *m_runPage;
    EvalPage *m_evalPage;
    GovernancePage *m_governancePage;
    RegistryPage *m_registryPage;
    ReportPage *m_reportPage;
    DeploymentsPage *m_deploymentsPage;
    DevicesPanel *m_devicesPanel;
    DetailsPanel *m_details;
    QTreeView *m_outline;
    QPlainTextEdit *m_console;
    QList<QDockWidget *> m_docks;

    QMenu *m_recentMenu = nullptr;
    QMenu *m_viewMenu = nullptr;
    QAction *m_undoAction = nullptr;
    QAction *m_redoAction = nullptr;
    QAction *m_autoSplitAction = nullptr;
    QComboBox *m_objective = nullptr;
    QProgressBar *m_progress;
    QLabel *m_progressLabel;
    QToolButton *m_cancelButton;
    QString m_modelPath;
    QString m_planPath;
    QVector<graph::NodeId> m_selection;
};

} // namespace sb::ui
