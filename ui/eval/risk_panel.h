// The Evaluation page's Robustness and Risks sections: inputs for the
// training data and the model's feature columns, a button that runs the
// checks off the GUI thread (ui/eval/risk_backend.h), metric-vs-strength
// curves, the sensitivity ranking, the label-issues table (rows of the
// training data) and the membership-inference ROC curves. Logic lives in the
// models (ui/eval/risk_models.h); this widget only lays them out.
#pragma once

#include "ui/common/task_runner.h"
#include "ui/eval/risk_backend.h"

#include <nlohmann/json.hpp>

#include <QWidget>

class QChartView;
class QLabel;
class QLineEdit;

namespace sb::ui {

class BarChartWidget;
class LabelIssuesModel;
class MiaModel;
class RobustnessCurveModel;
class SensitivityModel;

class RiskPanel : public QWidget
{
    Q_OBJECT
public:
    explicit RiskPanel(TaskRunner *tasks, QWidget *parent = nullptr);

    // Runs the checks for `request` (trainPath and features come from this
    // panel's fields when the request leaves them empty).
    void run(RiskRequest request);
    void showReports(const nlohmann::json &robustness, const nlohmann::json &poisoning,
                     const nlohmann::json &privacy);

    void setTrainingPath(const QString &path);
    void setFeatures(const QStringList &features);

    RobustnessCurveModel *curveModel() const { return m_curves; }
    SensitivityModel *sensitivityModel() const { return m_sensitivity; }
    LabelIssuesModel *labelIssuesModel() const { return m_issues; }
    MiaModel *miaModel() const { return m_mia; }
    QChartView *robustnessChart() const { return m_curveChart; }
    QChartView *rocChart() const { return m_rocChart; }
    BarChartWidget *sensitivityChart() const { return m_sensitivityChart; }
    QString status() const;
    QList<QWidget *> charts() const;

signals:
    // The Run button: the page answers with run(request) filled from its inputs.
    void runRequested();
    void reportsShown();
    void errorOccurred(const QString &message);

private:
    void buildCurveChart();
    void buildRocChart();

    TaskRunner *m_tasks;
    QLineEdit *m_train;
    QLineEdit *m_features;
    QLabel *m_status;
    QLabel *m_reading;
    RobustnessCurveModel *m_curves;
    SensitivityModel *m_sensitivity;
    LabelIssuesModel *m_issues;
    MiaModel *m_mia;
    QChartView *m_curveChart;
    QChartView *m_rocChart;
    BarChartWidget *m_sensitivityChart;
};

} // namespace sb::ui
