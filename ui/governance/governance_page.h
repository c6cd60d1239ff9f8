// Governance: the checklist of a model version (status per item, evidence,
// sign-off dialog for manual items) and the audit log with Verify. Reads and
// writes the store on worker threads.
#pragma once

#include "core/store/store.h"
#include "ui/common/page.h"
#include "ui/common/task_runner.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QStandardItemModel;
class QTreeView;
class QTableView;

namespace sb::ui {

class GovernancePage : public QWidget, public Page
{
    Q_OBJECT
public:
    // Page
    QString title() const override { return tr("Go&vernance"); }
    QWidget *widget() override { return this; }
    void activate() override { refresh(); }

    explicit GovernancePage(TaskRunner *tasks, QWidget *parent = nullptr);

    void refresh();
    // Selects "NAME:VERSION"; when not listed yet, the next refresh() does.
    void selectVersion(const QString &label);
    QString currentVersion() const;
    QPushButton *signButton() const { return m_signButton; }
    QComboBox *templateBox() const { return m_template; }
    QStandardItemModel *checklistModel() const { return m_items; }
    QStandardItemModel *auditModel() const { return m_audit; }
    QTreeView *checklistView() const { return m_itemsView; }
    // Signs "TEMPLATE/ITEM" of the selected version (what the dialog does on OK).
    void signItem(const QString &itemKey, const QString &reviewer, const QString &role,
                  const QString &decision, const QString &comment);
    void startChecklist(const QString &templateId);
    void verifyAudit();
    QString verificationText() const;

    enum Role
    {
        ItemIdRole = Qt::UserRole + 1,
        StatusRole,
        KindRole,
        ItemKeyRole
    };

signals:
    void errorOccurred(const QString &message);
    void refreshed();
    void signed_(bool ok);
    void verified(bool ok);

private:
    void loadChecklists();
    void signSelected();

    TaskRunner *m_tasks;
    QComboBox *m_version;
    QComboBox *m_template;
    QTreeView *m_itemsView;
    QStandardItemModel *m_items;
    QTableView *m_auditView;
    QStandardItemModel *m_audit;
    QPushButton *m_signButton;
    QLabel *m_verifyResult;
    QLabel *m_summary;
    std::vector<store::ModelVersionRecord> m_versions;
    QString m_pendingVersion;
};

// The colour a checklist item's status is shown in.
QColor statusColour(store::ItemStatus status);

} // namespace sb::ui
