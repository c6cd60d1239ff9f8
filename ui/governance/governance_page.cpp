#include "ui/governance/governance_page.h"
#include "core/common/json_text.h"

#include "core/governance/checklist.h"
#include "ui/common/store_access.h"
#include "ui/common/user_message.h"
#include "ui/governance/signoff_dialog.h"

#include <QComboBox>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableView>
#include <QTreeView>
#include <QVBoxLayout>

#include <map>

namespace sb::ui {

QColor statusColour(store::ItemStatus status)
{
    switch (status) {
    case store::ItemStatus::Passed:
    case store::ItemStatus::Approved:
        return QColor(0x2e, 0x7d, 0x32);
    case store::ItemStatus::Failing:
    case store::ItemStatus::Rejected:
        return QColor(0xc6, 0x28, 0x28);
    case store::ItemStatus::NeedsWork:
        return QColor(0xef, 0x6c, 0x00);
    case store::ItemStatus::Open:
        break;
    }
    return QColor(0x75, 0x75, 0x75);
}

namespace {

// "approve by Ada (ML lead): comment" for a sign-off, "accuracy = 0.958" for
// the metrics an evidence rule saw.
QString evidenceText(const store::Json &evidence)
{
    if (!evidence.is_object() || evidence.empty())
        return {};
    auto field = [&evidence](const char *key) {
        return evidence.contains(key) && evidence[key].is_string()
                   ? QString::fromStdString(evidence[key].get<std::string>())
                   : QString();
    };
    if (evidence.contains("reviewer")) {
        QString text = QObject::tr("%1 by %2").arg(field("decision"), field("reviewer"));
        if (!field("role").isEmpty())
            text += QStringLiteral(" (%1)").arg(field("role"));
        if (!field("comment").isEmpty())
            text += QStringLiteral(": ") + field("comment");
        return text;
    }
    // Evidence items: {"values": {metric: number}, "missing": [metric...]}.
    const store::Json &values = evidence.contains("values") && evidence["values"].is_object()
                                    ? evidence["values"]
                                    : evidence;
    QStringList parts;
    if (evidence.contains("missing") && evidence["missing"].is_array())
        for (const auto &name : evidence["missing"])
            parts << QObject::tr("%1 missing")
                         .arg(QString::fromStdString(name.is_string() ? name.get<std::string>()
                                                                      : sb::jsonText(name)));
    for (const auto &[key, value] : values.items()) {
        if (&values == &evidence && key == "missing")
            continue;
        const QString shown =
            value.is_number_float()
                ? QString::number(value.get<double>(), 'g', 4)
                : QString::fromStdString(value.is_string() ? value.get<std::string>()
                                                           : sb::jsonText(value));
        parts << QStringLiteral("%1 = %2").arg(QString::fromStdString(key), shown);
    }
    return parts.join(QStringLiteral(", "));
}

struct ChecklistData
{
    std::vector<store::ChecklistRecord> checklists;
    std::vector<store::AuditEntry> audit;
};

} // namespace

GovernancePage::GovernancePage(TaskRunner *tasks, QWidget *parent) : QWidget(parent), m_tasks(tasks)
{
    auto *layout = new QVBoxLayout(this);
    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Model version:"), this));
    m_version = new QComboBox(this);
    m_version->setMinimumWidth(220);
    top->addWidget(m_version);
    auto *refreshButton = new QPushButton(tr("Refresh"), this);
    top->addWidget(refreshButton);
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true); // keeps the window's minimum width independent of the text
    top->addWidget(m_summary, 1);
    m_template = new QComboBox(this);
    for (const auto &checklistTemplate : governance::loadTemplates())
        m_template->addItem(QString::fromStdString(checklistTemplate.title.empty()
                                                       ? checklistTemplate.id
                                                       : checklistTemplate.title),
                            QString::fromStdString(checklistTemplate.id));
    m_template->setObjectName("checklistTemplate");
    auto *startButton = new QPushButton(tr("Start Checklist"), this);
    startButton->setObjectName("startChecklist");
    top->addWidget(m_template);
    top->addWidget(startButton);
    connect(startButton, &QPushButton::clicked, this,
            [this]() { startChecklist(m_template->currentData().toString()); });
    m_signButton = new QPushButton(tr("Sign Off Selected Item…"), this);
    m_signButton->setObjectName("signOff");
    m_signButton->setEnabled(false);
    top->addWidget(m_signButton);
    layout->addLayout(top);

    auto *split = new QSplitter(Qt::Vertical, this);
    auto *checkBox = new QGroupBox(tr("Checklist"), split);
    auto *checkLayout = new QVBoxLayout(checkBox);
    m_items = new QStandardItemModel(0, 5, this);
    m_items->setHorizontalHeaderLabels({tr("Item"), tr("Status"), tr("Required"), tr("Kind / rule"),
                                        tr("Evidence / last decision")});
    m_itemsView = new QTreeView(checkBox);
    m_itemsView->setModel(m_items);
    m_itemsView->setAlternatingRowColors(true);
    m_itemsView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_itemsView->header()->setStretchLastSection(true);
    checkLayout->addWidget(m_itemsView);

    auto *auditBox = new QGroupBox(tr("Audit log"), split);
    auto *auditLayout = new QVBoxLayout(auditBox);
    auto *verifyRow = new QHBoxLayout;
    auto *verifyButton = new QPushButton(tr("Verify Chain"), auditBox);
    verifyButton->setObjectName("verifyAudit");
    m_verifyResult = new QLabel(auditBox);
    verifyRow->addWidget(verifyButton);
    verifyRow->addWidget(m_verifyResult, 1);
    auditLayout->addLayout(verifyRow);
    m_audit = new QStandardItemModel(0, 6, this);
    m_audit->setHorizontalHeaderLabels(
        {tr("#"), tr("Time"), tr("Actor"), tr("Action"), tr("Subject"), tr("Hash")});
    m_auditView = new QTableView(auditBox);
    m_auditView->setModel(m_audit);
    m_auditView->verticalHeader()->hide();
    m_auditView->horizontalHeader()->setStretchLastSection(true);
    m_auditView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auditLayout->addWidget(m_auditView);
    layout->addWidget(split, 1);

    connect(refreshButton, &QPushButton::clicked, this, &GovernancePage::refresh);
    connect(m_version, &QComboBox::currentIndexChanged, this, &GovernancePage::loadChecklists);
    connect(verifyButton, &QPushButton::clicked, this, &GovernancePage::verifyAudit);
    connect(m_signButton, &QPushButton::clicked, this, &GovernancePage::signSelected);
    connect(m_itemsView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex &current) {
                const QModelIndex first = current.siblingAtColumn(0);
                m_signButton->setEnabled(first.data(ItemIdRole).isValid());
            });
    connect(m_itemsView, &QTreeView::doubleClicked, this, [this](const QModelIndex &index) {
        if (index.siblingAtColumn(0).data(ItemIdRole).isValid())
            signSelected();
    });
}

void GovernancePage::refresh()
{
    runWithStore<std::vector<store::ModelVersionRecord>>(
        m_tasks, tr("Loading model versions"),
        [](store::Store &store,
           const CancelToken &) -> Result<std::vector<store::ModelVersionRecord>> {
            SB_ASSIGN_OR_RETURN(auto models, store.models().list());
            std::vector<store::ModelVersionRecord> all;
            for (const auto &model : models) {
                SB_ASSIGN_OR_RETURN(auto versions, store.models().versions(model.name));
                all.insert(all.end(), versions.begin(), versions.end());
            }
            return all;
        },
        this,
        [this](Result<std::vector<store::ModelVersionRecord>> result) {
            if (!result.ok()) {
                emit errorOccurred(userMessage(tr("Opening the store"), result.error()));
                return;
            }
            const QString current =
                !m_pendingVersion.isEmpty() ? m_pendingVersion : m_version->currentText();
            m_pendingVersion.clear();
            m_versions = std::move(result).value();
            const QSignalBlocker blocker(m_version);
            m_version->clear();
            for (const auto &version : m_versions)
                m_version->addItem(QString::fromStdString(version.label()),
                                   QVariant::fromValue<qint64>(version.id));
            const int keep = m_version->findText(current);
            m_version->setCurrentIndex(keep >= 0 ? keep : m_version->count() - 1);
            loadChecklists();
        });
}

void GovernancePage::selectVersion(const QString &label)
{
    const int index = m_version->findText(label);
    if (index >= 0)
        m_version->setCurrentIndex(index);
    else
        m_pendingVersion = label;
}

QString GovernancePage::currentVersion() const
{
    return m_version->currentText();
}

void GovernancePage::loadChecklists()
{
    const store::Id versionId = m_version->currentData().toLongLong();
    runWithStore<ChecklistData>(
        m_tasks, tr("Loading checklist"),
        [versionId](store::Store &store, const CancelToken &) -> Result<ChecklistData> {
            ChecklistData data;
            if (versionId > 0) {
                SB_ASSIGN_OR_RETURN(data.checklists, store.checklists().forVersion(versionId));
            }
            SB_ASSIGN_OR_RETURN(data.audit, store.audit().entries());
            return data;
        },
        this,
        [this](Result<ChecklistData> result) {
            if (!result.ok()) {
                emit errorOccurred(userMessage(tr("Loading the checklist"), result.error()));
                return;
            }
            m_items->removeRows(0, m_items->rowCount());
            int open = 0, done = 0, requiredOpen = 0;
            for (const auto &checklist : result->checklists) {
                auto *root = new QStandardItem(QString::fromStdString(
                    checklist.title.empty() ? checklist.templateId : checklist.title));
                QFont bold = root->font();
                bold.setBold(true);
                root->setFont(bold);
                std::map<std::string, QStandardItem *> sections;
                for (const auto &item : checklist.items) {
                    QStandardItem *&section = sections[item.section];
                    if (!section) {
                        section = new QStandardItem(QString::fromStdString(
                            item.section.empty() ? std::string("General") : item.section));
                        root->appendRow({section, new QStandardItem, new QStandardItem,
                                         new QStandardItem, new QStandardItem});
                    }
                    const QString status = QString::fromLatin1(store::itemStatusName(item.status));
                    auto *text = new QStandardItem(QString::fromStdString(item.text));
                    text->setData(qint64(item.id), ItemIdRole);
                    text->setData(QString::fromStdString(checklist.templateId + "/" + item.itemId),
                                  ItemKeyRole);
                    text->setData(status, StatusRole);
                    text->setData(QString::fromStdString(item.kind), KindRole);
                    text->setToolTip(QString::fromStdString(item.itemId + ": " + item.text));
                    auto *statusItem = new QStandardItem(status);
                    statusItem->setForeground(statusColour(item.status));
                    QFont f = statusItem->font();
                    f.setBold(true);
                    statusItem->setFont(f);
                    auto *required =
                        new QStandardItem(item.required ? tr("required") : tr("optional"));
                    auto *rule = new QStandardItem(
                        item.kind == "evidence"
                            ? tr("evidence: %1").arg(QString::fromStdString(item.rule))
                            : tr("manual sign-off"));
                    auto *evidence = new QStandardItem(evidenceText(item.evidence));
                    evidence->setToolTip(QString::fromStdString(sb::jsonText(item.evidence, 2)));
                    section->appendRow({text, statusItem, required, rule, evidence});
                    const bool closed = governance::itemSatisfied(item);
                    (closed ? done : open) += 1;
                    if (!closed && item.required)
                        ++requiredOpen;
                }
                m_items->appendRow({root, new QStandardItem, new QStandardItem, new QStandardItem,
                                    new QStandardItem});
            }
            m_itemsView->expandAll();
            // Item texts are long: cap the column so status, rule and evidence stay in view.
            m_itemsView->resizeColumnToContents(0);
            m_itemsView->setColumnWidth(0, std::min(m_itemsView->columnWidth(0), 380));
            for (int c = 1; c < 4; ++c)
                m_itemsView->resizeColumnToContents(c);
            m_itemsView->setColumnWidth(3, std::min(m_itemsView->columnWidth(3), 220));
            m_summary->setText(
                result->checklists.empty()
                    ? tr("No checklist for this version yet: pick a template and press "
                         "Start Checklist.")
                    : tr("%1 done, %2 open (%3 required still open)")
                          .arg(done)
                          .arg(open)
                          .arg(requiredOpen));
            m_audit->removeRows(0, m_audit->rowCount());
            for (auto it = result->audit.rbegin(); it != result->audit.rend(); ++it) {
                QList<QStandardItem *> row;
                row << new QStandardItem(QString::number(it->id))
                    << new QStandardItem(QString::fromStdString(it->time))
                    << new QStandardItem(QString::fromStdString(it->actor))
                    << new QStandardItem(QString::fromStdString(it->action))
                    << new QStandardItem(QString::fromStdString(it->subject))
                    << new QStandardItem(QString::fromStdString(it->hash.substr(0, 16)) + "…");
                row[3]->setToolTip(QString::fromStdString(sb::jsonText(it->details, 2)));
                m_audit->appendRow(row);
            }
            m_auditView->resizeColumnsToContents();
            emit refreshed();
        });
}

void GovernancePage::signSelected()
{
    const QModelIndex index = m_itemsView->currentIndex().siblingAtColumn(0);
    if (!index.data(ItemIdRole).isValid())
        return;
    SignOffDialog dialog(index.data().toString(), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    signItem(index.data(ItemKeyRole).toString(), dialog.reviewer(), dialog.role(),
             dialog.decision(), dialog.comment());
}

void GovernancePage::signItem(const QString &itemKey, const QString &reviewer, const QString &role,
                              const QString &decision, const QString &comment)
{
    const store::Id versionId = m_version->currentData().toLongLong();
    runWithStore<store::SignoffRecord>(
        m_tasks, tr("Signing off"),
        [versionId, item = itemKey.toStdString(), reviewer = reviewer.toStdString(),
         role = role.toStdString(), decision = decision.toStdString(),
         comment = comment.toStdString()](store::Store &store,
                                          const CancelToken &) -> Result<store::SignoffRecord> {
            SB_ASSIGN_OR_RETURN(auto version, store.models().versionById(versionId));
            governance::ChecklistService service(store);
            return service.sign(version, item, reviewer, role, decision, comment);
        },
        this,
        [this](Result<store::SignoffRecord> result) {
            if (!result.ok()) {
                emit errorOccurred(userMessage(tr("Signing off"), result.error()));
                emit signed_(false);
                return;
            }
            loadChecklists();
            emit signed_(true);
        });
}

void GovernancePage::startChecklist(const QString &templateId)
{
    const store::Id versionId = m_version->currentData().toLongLong();
    runWithStore<store::ChecklistRecord>(
        m_tasks, tr("Starting checklist"),
        [versionId, templateId = templateId.toStdString()](
            store::Store &store, const CancelToken &) -> Result<store::ChecklistRecord> {
            SB_ASSIGN_OR_RETURN(auto version, store.models().versionById(versionId));
            SB_ASSIGN_OR_RETURN(auto checklistTemplate, governance::findTemplate(templateId));
            governance::ChecklistService service(store);
            return service.start(version, checklistTemplate);
        },
        this,
        [this](Result<store::ChecklistRecord> result) {
            if (!result.ok()) {
                emit errorOccurred(userMessage(tr("Starting the checklist"), result.error()));
                return;
            }
            loadChecklists();
        });
}

void GovernancePage::verifyAudit()
{
    runWithStore<store::AuditVerification>(
        m_tasks, tr("Verifying the audit chain"),
        [](store::Store &store, const CancelToken &) { return store.audit().verify(); }, this,
        [this](Result<store::AuditVerification> result) {
            if (!result.ok()) {
                emit errorOccurred(userMessage(tr("Verifying the audit log"), result.error()));
                emit verified(false);
                return;
            }
            if (result->ok) {
                m_verifyResult->setText(
                    tr("<font color='#2e7d32'>✔ chain intact: %1 entries verified</font>")
                        .arg(result->entries));
            } else {
                m_verifyResult->setText(
                    tr("<font color='#c62828'>✘ %1 (first bad entry #%2)</font>")
                        .arg(QString::fromStdString(result->problem).toHtmlEscaped())
                        .arg(result->firstBadId ? *result->firstBadId : -1));
            }
            emit verified(result->ok);
        });
}

QString GovernancePage::verificationText() const
{
    return m_verifyResult->text();
}

} // namespace sb::ui
