// Item models of the Evaluation page's Robustness and Risks sections, filled
// from the JSON reports of `robustness`, `poisoning` and `privacy` (the
// public formats in core/eval/robustness.h, poisoning.h, privacy.h). The
// views only display them; charts read the same models.
#pragma once

#include <nlohmann/json.hpp>

#include <QAbstractTableModel>
#include <QPointF>
#include <QVector>

namespace sb::ui {

// One row per curve point: perturbation, strength, accuracy, accuracy drop,
// ROC AUC, mean probability change.
class RobustnessCurveModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        Perturbation,
        Strength,
        Accuracy,
        AccuracyDrop,
        RocAuc,
        ProbaChange,
        ColumnCount
    };
    using QAbstractTableModel::QAbstractTableModel;
    void setReport(const nlohmann::json &robustness);
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    // The perturbations in report order, and (strength, metric) points of one.
    QStringList perturbations() const;
    QVector<QPointF> curve(const QString &perturbation, Column metric = Accuracy) const;

private:
    struct Row
    {
        QString perturbation;
        double values[ColumnCount] = {};
    };
    QVector<Row> m_rows;
};

// Features ranked by sensitivity: rank, feature, mean probability change,
// worst accuracy drop.
class SensitivityModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;
    void setReport(const nlohmann::json &robustness);
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    struct Row
    {
        int rank = 0;
        QString feature;
        double change = 0, drop = 0;
    };
    QVector<Row> m_rows;
};

// Suspicious training rows: row (0-based data row), label, score, reasons.
class LabelIssuesModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;
    void setReport(const nlohmann::json &poisoning);
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    struct Row
    {
        qint64 row = 0;
        QString label, reasons;
        double score = 0;
    };
    QVector<Row> m_rows;
};

// Membership-inference attacks: attack, AUC, CI, advantage; plus each
// attack's ROC curve for the chart.
class MiaModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;
    void setReport(const nlohmann::json &privacy);
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    QString attack(int row) const { return m_rows.value(row).name; }
    QVector<QPointF> roc(int row) const { return m_rows.value(row).roc; }
    QString reading() const { return m_reading; }

private:
    struct Row
    {
        QString name;
        double auc = 0, low = 0, high = 0, advantage = 0;
        QVector<QPointF> roc;
    };
    QVector<Row> m_rows;
    QString m_reading;
};

} // namespace sb::ui
