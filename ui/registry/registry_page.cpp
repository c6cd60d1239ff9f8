#include "ui/registry/registry_page.h"

#include "core/common/sha256.h"
#include "core/governance/checklist.h"
#include "core/workflows/register_model.h"
#include "ui/common/store_access.h"
#include "ui/common/user_message.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTableView>
#include <QTreeView>
#include <QVBoxLayout>

#include <filesystem>
#include <set>

namespace sb::ui {

namespace {

struct RegistryData
{
    std::vector<store::ModelVersionRecord> versions;
    // model name -> env -> active deployment
    std::map<std::string, std::map<std::string, store::DeploymentRecord>> active;
    std::vector<store::DeploymentRecord> history;
};

const char *kEnvironments[] = {"staging", "production"};

} // namespace

RegistryPage::RegistryPage(TaskRunner *tasks, QWidget *parent) : QWidget(parent), m_tasks(tasks)
{
    auto *layout = new QVBoxLayout(this);
    auto *top = new QHBoxLayout;
    auto *registerButton = new QPushButton(tr("Register Model…"), this);
    auto *refreshButton = new QPushButton(tr("Refresh"), this);
    m_env = new QComboBox(this);
    m_env->setEditable(true);
    for (const char *env : kEnvironments)
        m_env->addItem(env);
    auto *promoteButton = new QPushButton(tr("Promote Selected Version"), this);
    promoteButton->setObjectName("promote");
    auto *rollbackButton = new QPushButton(tr("Roll Back"), this);
    top->addWidget(registerButton);
    top->addWidget(refreshButton);
    top->addStretch(1);
    top->addWidget(new QLabel(tr("Environment:"), this));
    top->addWidget(m_env);
    top->addWidget(promoteButton);
    top->addWidget(rollbackButton);
    layout->addLayout(top);
    m_message = new QLabel(this);
    m_message->setWordWrap(true);
    layout->addWidget(m_message);

    auto *split = new QSplitter(Qt::Horizontal, this);
    auto *versionsBox = new QGroupBox(tr("Model versions"), split);
    auto *versionsLayout = new QVBoxLayout(versionsBox);
    m_versions = new QStandardItemModel(0, 5, this);
    m_versions->setHorizontalHeaderLabels(
        {tr("Model / version"), tr("SHA-256"), tr("Size"), tr("Created"), tr("Notes")});
    m_versionsView = new QTreeView(versionsBox);
    m_versionsView->setModel(m_versions);
    m_versionsView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    versionsLayout->addWidget(m_versionsView);

    auto *rightSplit = new QSplitter(Qt::Vertical, split);
    auto *activeBox = new QGroupBox(tr("Active deployments"), rightSplit);
    auto *activeLayout = new QVBoxLayout(activeBox);
    m_active = new QStandardItemModel(0, 4, this);
    m_active->setHorizontalHeaderLabels(
        {tr("Model"), tr("Environment"), tr("Version"), tr("Since")});
    m_activeView = new QTableView(activeBox);
    m_activeView->setModel(m_active);
    m_activeView->verticalHeader()->hide();
    m_activeView->horizontalHeader()->setStretchLastSection(true);
    activeLayout->addWidget(m_activeView);
    auto *historyBox = new QGroupBox(tr("Deployment history"), rightSplit);
    auto *historyLayout = new QVBoxLayout(historyBox);
    m_history = new QStandardItemModel(0, 6, this);
    m_history->setHorizontalHeaderLabels(
        {tr("Time"), tr("Model"), tr("Environment"), tr("Action"), tr("Version"), tr("By")});
    m_historyView = new QTableView(historyBox);
    m_historyView->setModel(m_history);
    m_historyView->verticalHeader()->hide();
    m_historyView->horizontalHeader()->setStretchLastSection(true);
    historyLayout->addWidget(m_historyView);
    layout->addWidget(split, 1);

    connect(refreshButton, &QPushButton::clicked, this, &RegistryPage::refresh);
    connect(registerButton, &QPushButton::clicked, this, [this]() {
        const QString path = QFileDialog::getOpenFileName(this, tr("Register Model"), QString(),
                                                          tr("ONNX models (*.onnx)"));
        if (path.isEmpty())
            return;
        bool ok = false;
        const QString name =
            QInputDialog::getText(this, tr("Register Model"), tr("Model name:"), QLineEdit::Normal,
                                  QFileInfo(path).completeBaseName(), &ok);
        if (ok && !name.trimmed().isEmpty())
            registerModel(path, name.trimmed(), QString());
    });
    connect(promoteButton, &QPushButton::clicked, this,
            [this]() { promoteSelected(m_env->currentText().trimmed()); });
    connect(rollbackButton, &QPushButton::clicked, this,
            [this]() { rollback(m_env->currentText().trimmed()); });
}

QString RegistryPage::lastMessage() const
{
    return m_message->text();
}

QString RegistryPage::selectedModel() const
{
    const QModelIndex index = m_versionsView->currentIndex().siblingAtColumn(0);
    return index.data(ModelNameRole).toString();
}

void RegistryPage::refresh()
{
    runWithStore<RegistryData>(
        m_tasks, tr("Loading the registry"),
        [](store::Store &store, const CancelToken &) -> Result<RegistryData> {
            RegistryData data;
            SB_ASSIGN_OR_RETURN(auto models, store.models().list());
            for (const auto &model : models) {
                SB_ASSIGN_OR_RETURN(auto versions, store.models().versions(model.name));
                data.versions.insert(data.versions.end(), versions.begin(), versions.end());
                SB_ASSIGN_OR_RETURN(auto history, store.deployments().history(model.name));
                std::set<std::string> envs;
                for (const auto &entry : history) {
                    envs.insert(entry.env);
                    data.history.push_back(entry);
                }
                for (const auto &env : envs) {
                    SB_ASSIGN_OR_RETURN(auto active, store.deployments().active(model.name, env));
                    if (active)
                        data.active[model.name][env] = *active;
                }
            }
            return data;
        },
        this,
        [this](Result<RegistryData> result) {
            if (!result.ok()) {
                emit errorOccurred(userMessage(tr("Loading the registry"), result.error()));
                return;
            }
            m_versions->removeRows(0, m_versions->rowCount());
            std::map<std::string, QStandardItem *> models;
            for (const auto &version : result->versions) {
                QStandardItem *&model = models[version.modelName];
                if (!model) {
                    model = new QStandardItem(QString::fromStdString(version.modelName));
                    model->setData(QString::fromStdString(version.modelName), ModelNameRole);
                    m_versions->appendRow({model, new QStandardItem, new QStandardItem,
                                           new QStandardItem, new QStandardItem});
                }
                QString label = tr("version %1").arg(version.version);
                const auto active = result->active.find(version.modelName);
                if (active != result->active.end())
                    for (const auto &[env, deployment] : active->second)
                        if (deployment.modelVersionId == version.id)
                            label += QStringLiteral("  [%1]").arg(QString::fromStdString(env));
                auto *item = new QStandardItem(label);
                item->setData(qint64(version.id), VersionIdRole);
                item->setData(QString::fromStdString(version.modelName), ModelNameRole);
                item->setData(version.version, VersionRole);
                item->setToolTip(QString::fromStdString(version.filePath));
                model->appendRow(
                    {item, new QStandardItem(QString::fromStdString(version.sha256.substr(0, 12))),
                     new QStandardItem(QString::number(version.sizeBytes)),
                     new QStandardItem(QString::fromStdString(version.createdAt)),
                     new QStandardItem(QString::fromStdString(version.notes))});
            }
            m_versionsView->expandAll();
            m_versionsView->resizeColumnToContents(0);
            m_active->removeRows(0, m_active->rowCount());
            for (const auto &[model, envs] : result->active)
                for (const auto &[env, deployment] : envs)
                    m_active->appendRow(
                        {new QStandardItem(QString::fromStdString(model)),
                         new QStandardItem(QString::fromStdString(env)),
                         new QStandardItem(QString::number(deployment.version)),
                         new QStandardItem(QString::fromStdString(deployment.createdAt))});
            m_history->removeRows(0, m_history->rowCount());
            for (auto it = result->history.rbegin(); it != result->history.rend(); ++it) {
                std::string modelName;
                for (const auto &v : result->versions)
                    if (v.id == it->modelVersionId)
                        modelName = v.modelName;
                m_history->appendRow({new QStandardItem(QString::fromStdString(it->createdAt)),
                                      new QStandardItem(QString::fromStdString(modelName)),
                                      new QStandardItem(QString::fromStdString(it->env)),
                                      new QStandardItem(QString::fromStdString(it->action)),
                                      new QStandardItem(QString::number(it->version)),
                                      new QStandardItem(QString::fromStdString(it->createdBy))});
            }
            m_activeView->resizeColumnsToContents();
            m_historyView->resizeColumnsToContents();
            emit refreshed();
        });
}

void RegistryPage::registerModel(const QString &path, const QString &name, const QString &notes)
{
    runWithStore<store::ModelVersionRecord>(
        m_tasks, tr("Registering %1").arg(name),
        [path = path.toStdString(), name = name.toStdString(), notes = notes.toStdString()](
            store::Store &store, const CancelToken &) -> Result<store::ModelVersionRecord> {
            // As `registry add` does: only a valid ONNX model is registered,
            // with its producer and opsets.
            return workflows::registerModelFile(store, path, name, notes);
        },
        this,
        [this](Result<store::ModelVersionRecord> result) {
            if (!result.ok()) {
                emit errorOccurred(userMessage(tr("Registering the model"), result.error()));
                return;
            }
            m_message->setText(tr("Registered %1.").arg(QString::fromStdString(result->label())));
            refresh();
        });
}

void RegistryPage::promoteSelected(const QString &env)
{
    const QModelIndex index = m_versionsView->currentIndex().siblingAtColumn(0);
    if (!index.data(VersionIdRole).isValid() || env.isEmpty()) {
        emit errorOccurred(tr("Select a model version and an environment to promote."));
        return;
    }
    const store::Id versionId = index.data(VersionIdRole).toLongLong();
    runWithStore<store::DeploymentRecord>(
        m_tasks, tr("Promoting"),
        [versionId, env = env.toStdString()](
            store::Store &store, const CancelToken &) -> Result<store::DeploymentRecord> {
            SB_ASSIGN_OR_RETURN(auto version, store.models().versionById(versionId));
            // The governance gate refuses while required items are open, naming them.
            governance::ChecklistService service(store);
            return service.promote(version, env, "promoted from the workbench");
        },
        this,
        [this, env](Result<store::DeploymentRecord> result) {
            if (!result.ok()) {
                m_message->setText("<font color='#c62828'>" +
                                   QString::fromStdString(result.error().message).toHtmlEscaped() +
                                   "</font>");
                emit actionFinished(false, QString::fromStdString(result.error().message));
                return;
            }
            const QString text =
                tr("Version %1 is now active in %2.").arg(result->version).arg(env);
            m_message->setText(text);
            emit actionFinished(true, text);
            refresh();
        });
}

void RegistryPage::rollback(const QString &env)
{
    const QString model = selectedModel();
    if (model.isEmpty() || env.isEmpty()) {
        emit errorOccurred(tr("Select a model and an environment to roll back."));
        return;
    }
    runWithStore<store::DeploymentRecord>(
        m_tasks, tr("Rolling back"),
        [model = model.toStdString(), env = env.toStdString()](store::Store &store,
                                                               const CancelToken &) {
            return store.deployments().rollback(model, env);
        },
        this,
        [this, env](Result<store::DeploymentRecord> result) {
            if (!result.ok()) {
                m_message->setText("<font color='#c62828'>" +
                                   QString::fromStdString(result.error().message).toHtmlEscaped() +
                                   "</font>");
                emit actionFinished(false, QString::fromStdString(result.error().message));
                return;
            }
            const QString text =
                tr("Rolled back: version %1 is active in %2 again.").arg(result->version).arg(env);
            m_message->setText(text);
            emit actionFinished(true, text);
            refresh();
        });
}

} // namespace sb::ui
