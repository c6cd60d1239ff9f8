// Registry: model versions, the active deployment per environment, promote
// and rollback (promotion refused, with the items named, while a required
// checklist item of that version is open or failing), and the history.
#pragma once

#include "core/store/store.h"
#include "ui/common/page.h"
#include "ui/common/task_runner.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QStandardItemModel;
class QTreeView;
class QTableView;

namespace sb::ui {

class RegistryPage : public QWidget, public Page
{
    Q_OBJECT
public:
    // Page
    QString title() const override { return tr("Re&gistry"); }
    QWidget *widget() override { return this; }
    void activate() override { refresh(); }

    explicit RegistryPage(TaskRunner *tasks, QWidget *parent = nullptr);

    void refresh();
    void registerModel(const QString &path, const QString &name, const QString &notes);
    void promoteSelected(const QString &env);
    void rollback(const QString &env);
    QStandardItemModel *versionsModel() const { return m_versions; }
    QStandardItemModel *historyModel() const { return m_history; }
    QTreeView *versionsView() const { return m_versionsView; }
    QString lastMessage() const;

    enum Role
    {
        VersionIdRole = Qt::UserRole + 1,
        ModelNameRole,
        VersionRole
    };

signals:
    void errorOccurred(const QString &message);
    void refreshed();
    void actionFinished(bool ok, const QString &message);

private:
    void loadHistory();
    QString selectedModel() const;

    TaskRunner *m_tasks;
    QTreeView *m_versionsView;
    QStandardItemModel *m_versions;
    QTableView *m_activeView;
    QStandardItemModel *m_active;
    QTableView *m_historyView;
    QStandardItemModel *m_history;
    QComboBox *m_env;
    QLabel *m_message;
};

} // namespace sb::ui
