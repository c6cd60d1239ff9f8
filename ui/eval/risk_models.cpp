#include "ui/eval/risk_models.h"

#include <cmath>

namespace sb::ui {

using nlohmann::json;

namespace {

double num(const json &value)
{
    return value.is_number() ? value.get<double>() : qQNaN();
}

QString str(const json &value)
{
    return value.is_string() ? QString::fromStdString(value.get<std::string>()) : QString();
}

const json &at(const json &object, const char *key)
{
    static const json null;
    return object.is_object() && object.contains(key) ? object[key] : null;
}

QVariant number(double value, int decimals = 4)
{
    if (std::isnan(value))
        return QStringLiteral("—");
    return QString::number(value, 'f', decimals);
}

} // namespace

// ---- RobustnessCurveModel ------------------------------------------------------

void RobustnessCurveModel::setReport(const json &robustness)
{
    beginResetModel();
    m_rows.clear();
    for (const json &point : at(robustness, "curves")) {
        Row row;
        row.perturbation = str(at(point, "perturbation"));
        const json &metrics = at(point, "metrics");
        row.values[Strength] = num(at(point, "strength"));
        row.values[Accuracy] = num(at(metrics, "accuracy"));
        row.values[AccuracyDrop] = num(at(at(point, "drop"), "accuracy"));
        row.values[RocAuc] = num(at(metrics, "roc_auc"));
        row.values[ProbaChange] = num(at(point, "mean_proba_change"));
        m_rows.push_back(row);
    }
    endResetModel();
}

int RobustnessCurveModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int RobustnessCurveModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RobustnessCurveModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows[index.row()];
    if (role == Qt::DisplayRole) {
        if (index.column() == Perturbation)
            return row.perturbation;
        if (index.column() == Strength)
            return QString::number(row.values[Strength], 'g', 6);
        return number(row.values[index.column()]);
    }
    if (role == Qt::UserRole)
        return index.column() == Perturbation ? QVariant(row.perturbation)
                                              : QVariant(row.values[index.column()]);
    return {};
}

QVariant RobustnessCurveModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *names[] = {"Perturbation",  "Strength", "Accuracy",
                                  "Accuracy drop", "ROC AUC",  "Mean proba change"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

QStringList RobustnessCurveModel::perturbations() const
{
    QStringList names;
    for (const Row &row : m_rows)
        if (!names.contains(row.perturbation))
            names << row.perturbation;
    return names;
}

QVector<QPointF> RobustnessCurveModel::curve(const QString &perturbation, Column metric) const
{
    QVector<QPointF> points;
    for (const Row &row : m_rows)
        if (row.perturbation == perturbation && !std::isnan(row.values[metric]))
            points.push_back({row.values[Strength], row.values[metric]});
    return points;
}

// ---- SensitivityModel ----------------------------------------------------------

void SensitivityModel::setReport(const json &robustness)
{
    beginResetModel();
    m_rows.clear();
    for (const json &entry : at(robustness, "sensitivity")) {
        Row row;
        row.rank = at(entry, "rank").is_number() ? at(entry, "rank").get<int>() : 0;
        row.feature = str(at(entry, "feature"));
        row.change = num(at(entry, "mean_proba_change"));
        row.drop = num(at(entry, "accuracy_drop"));
        m_rows.push_back(row);
    }
    endResetModel();
}

int SensitivityModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SensitivityModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : 4;
}

QVariant SensitivityModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows[index.row()];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case 0:
            return row.rank;
        case 1:
            return row.feature;
        case 2:
            return number(row.change);
        default:
            return number(row.drop);
        }
    }
    if (role == Qt::UserRole && index.column() >= 2)
        return index.column() == 2 ? row.change : row.drop;
    return {};
}

QVariant SensitivityModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *names[] = {"Rank", "Feature", "Mean proba change", "Worst accuracy drop"};
    return section >= 0 && section < 4 ? tr(names[section]) : QVariant();
}

// ---- LabelIssuesModel ----------------------------------------------------------

void LabelIssuesModel::setReport(const json &poisoning)
{
    beginResetModel();
    m_rows.clear();
    for (const json &entry : at(poisoning, "rows")) {
        Row row;
        row.row = at(entry, "row").is_number() ? at(entry, "row").get<qint64>() : -1;
        row.label = str(at(entry, "label"));
        row.score = num(at(entry, "score"));
        QStringList reasons;
        for (const json &reason : at(entry, "reasons"))
            reasons << str(reason);
        row.reasons = reasons.join(QStringLiteral("; "));
        m_rows.push_back(row);
    }
    endResetModel();
}

int LabelIssuesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int LabelIssuesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : 4;
}

QVariant LabelIssuesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows[index.row()];
    if (role == Qt::DisplayRole || role == Qt::ToolTipRole) {
        switch (index.column()) {
        case 0:
            return row.row;
        case 1:
            return row.label;
        case 2:
            return number(row.score, 3);
        default:
            return row.reasons;
        }
    }
    return {};
}

QVariant LabelIssuesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *names[] = {"Row", "Label", "Score", "Reasons"};
    return section >= 0 && section < 4 ? tr(names[section]) : QVariant();
}

// ---- MiaModel ------------------------------------------------------------------

void MiaModel::setReport(const json &privacy)
{
    beginResetModel();
    m_rows.clear();
    for (const json &attack : at(privacy, "attacks")) {
        Row row;
        row.name = str(at(attack, "name"));
        row.auc = num(at(attack, "auc"));
        row.advantage = num(at(attack, "advantage"));
        const json &ci = at(attack, "auc_ci");
        row.low = ci.is_array() && ci.size() == 2 ? num(ci[0]) : qQNaN();
        row.high = ci.is_array() && ci.size() == 2 ? num(ci[1]) : qQNaN();
        const json &fpr = at(at(attack, "roc"), "fpr");
        const json &tpr = at(at(attack, "roc"), "tpr");
        for (std::size_t i = 0;
             fpr.is_array() && tpr.is_array() && i < fpr.size() && i < tpr.size(); ++i)
            row.roc.push_back({num(fpr[i]), num(tpr[i])});
        m_rows.push_back(row);
    }
    QStringList reading;
    for (const json &line : at(privacy, "reading"))
        reading << str(line);
    const QString inversion = str(at(at(privacy, "model_inversion"), "reading"));
    if (!inversion.isEmpty())
        reading << inversion;
    m_reading = reading.join(QStringLiteral("\n"));
    endResetModel();
}

int MiaModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int MiaModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : 5;
}

QVariant MiaModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size() || role != Qt::DisplayRole)
        return {};
    const Row &row = m_rows[index.row()];
    switch (index.column()) {
    case 0:
        return row.name;
    case 1:
        return number(row.auc);
    case 2:
        return number(row.low);
    case 3:
        return number(row.high);
    default:
        return number(row.advantage);
    }
}

QVariant MiaModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *names[] = {"Attack", "AUC", "CI low", "CI high", "Advantage"};
    return section >= 0 && section < 5 ? tr(names[section]) : QVariant();
}

} // namespace sb::ui
