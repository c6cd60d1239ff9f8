// Governance and registry pages against a real store in a temporary file:
// start a checklist, sign items through the page, the audit chain verifies,
// promotion is refused naming the open items and allowed once they are
// signed, rollback restores the previous version.
#include "core/store/store.h"
#include "ui/common/store_access.h"
#include "ui/common/task_runner.h"
#include "ui/governance/governance_page.h"
#include "ui/governance/signoff_dialog.h"
#include "ui/registry/registry_page.h"

#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTimer>

#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>

using namespace sb;
using namespace sb::ui;

namespace {

store::ModelVersionRecord registerVersion(const std::filesystem::path &db, const std::string &sha)
{
    auto opened = store::Store::open(db);
    if (!opened.ok())
        qFatal("store: %s", opened.error().message.c_str());
    store::NewModelVersion input;
    input.modelName = "demo";
    input.filePath = "/models/demo.onnx";
    input.sha256 = sha;
    input.sizeBytes = 1234;
    auto version = (*opened)->models().addVersion(input);
    if (!version.ok())
        qFatal("addVersion: %s", version.error().message.c_str());
    return *version;
}

// Item rows of the checklist view: "TEMPLATE/ITEM" -> status.
QMap<QString, QString> statuses(QStandardItemModel *model)
{
    QMap<QString, QString> result;
    std::function<void(const QModelIndex &)> walk = [&](const QModelIndex &parent) {
        for (int r = 0; r < model->rowCount(parent); ++r) {
            const QModelIndex index = model->index(r, 0, parent);
            const QString key = index.data(GovernancePage::ItemKeyRole).toString();
            if (!key.isEmpty())
                result[key] = index.data(GovernancePage::StatusRole).toString();
            walk(index);
        }
    };
    walk({});
    return result;
}

QModelIndex findKey(QStandardItemModel *model, const QString &key, const QModelIndex &parent = {})
{
    for (int r = 0; r < model->rowCount(parent); ++r) {
        const QModelIndex index = model->index(r, 0, parent);
        if (index.data(GovernancePage::ItemKeyRole).toString() == key)
            return index;
        if (const QModelIndex child = findKey(model, key, index); child.isValid())
            return child;
    }
    return {};
}

// Runs `act` on the sign-off dialog once its exec() shows it.
void whenDialogShown(std::function<void(SignOffDialog *)> act)
{
    auto *timer = new QTimer(qApp);
    QObject::connect(timer, &QTimer::timeout, qApp, [timer, act]() {
        auto *dialog = qobject_cast<SignOffDialog *>(QApplication::activeModalWidget());
        if (!dialog)
            return;
        timer->stop();
        timer->deleteLater();
        act(dialog);
    });
    timer->start(20);
}

} // namespace

class TestUiGovernance : public QObject
{
    Q_OBJECT
private slots:
    void init();
    void signOff_data();
    void signOff();
    void promotionGate();
    void signThroughDialog();
    void cancelledDialogSignsNothing();

private:
    QTemporaryDir m_dir;
    std::filesystem::path m_db;
};

void TestUiGovernance::init()
{
    QVERIFY(m_dir.isValid());
    static int counter = 0;
    m_db = std::filesystem::path(m_dir.path().toStdString()) /
           ("store" + std::to_string(++counter) + ".db");
    setGuiDatabasePath(m_db);
}

void TestUiGovernance::signOff_data()
{
    QTest::addColumn<QString>("decision");
    QTest::addColumn<QString>("status");
    QTest::newRow("approve") << "approve"
                             << "approved";
    QTest::newRow("reject") << "reject"
                            << "rejected";
    QTest::newRow("needs work") << "needs_work"
                                << "needs_work";
}

void TestUiGovernance::signOff()
{
    QFETCH(QString, decision);
    QFETCH(QString, status);
    registerVersion(m_db, std::string(64, 'a'));
    TaskRunner tasks;
    GovernancePage page(&tasks);
    QSignalSpy refreshed(&page, &GovernancePage::refreshed);
    page.refresh();
    QVERIFY(refreshed.wait(10000));
    page.startChecklist("security");
    QVERIFY(refreshed.wait(10000));
    auto before = statuses(page.checklistModel());
    QCOMPARE(before.value("security/data-poisoning"), QStringLiteral("open"));
    QVERIFY(before.size() >= 4);

    QSignalSpy signedSpy(&page, &GovernancePage::signed_);
    page.signItem("security/data-poisoning", "Ada Reviewer", "ML lead", decision,
                  "checked the data pipeline");
    QVERIFY(signedSpy.wait(10000));
    QCOMPARE(signedSpy.front().front().toBool(), true);
    QTRY_COMPARE_WITH_TIMEOUT(statuses(page.checklistModel()).value("security/data-poisoning"),
                              status, 10000);
    // The store holds the sign-off and the audit log records it.
    auto opened = store::Store::open(m_db);
    QVERIFY(opened.ok());
    auto entries = (*opened)->audit().entries();
    QVERIFY(entries.ok());
    bool audited = false;
    for (const auto &entry : *entries)
        audited = audited || (entry.action.find("sign") != std::string::npos &&
                              entry.details.dump().find("Ada Reviewer") != std::string::npos);
    QVERIFY(audited);
    // Verify through the page.
    QSignalSpy verified(&page, &GovernancePage::verified);
    page.verifyAudit();
    QVERIFY(verified.wait(10000));
    QCOMPARE(verified.front().front().toBool(), true);
    QVERIFY(page.verificationText().contains("chain intact"));
}

void TestUiGovernance::promotionGate()
{
    const auto v1 = registerVersion(m_db, std::string(64, 'b'));
    const auto v2 = registerVersion(m_db, std::string(64, 'c'));
    TaskRunner tasks;
    GovernancePage governance(&tasks);
    RegistryPage registry(&tasks);
    QSignalSpy governanceRefreshed(&governance, &GovernancePage::refreshed);
    governance.refresh();
    QVERIFY(governanceRefreshed.wait(10000));
    governance.selectVersion("demo:2"); // the newest version is already selected
    governance.startChecklist("security");
    QVERIFY(governanceRefreshed.wait(10000));

    QSignalSpy registryRefreshed(&registry, &RegistryPage::refreshed);
    registry.refresh();
    QVERIFY(registryRefreshed.wait(10000));
    // Select demo:2 in the versions tree.
    auto *model = registry.versionsModel();
    const QModelIndex demo = model->index(0, 0);
    QModelIndex v2Index;
    for (int r = 0; r < model->rowCount(demo); ++r)
        if (model->index(r, 0, demo).data(RegistryPage::VersionRole).toInt() == 2)
            v2Index = model->index(r, 0, demo);
    QVERIFY(v2Index.isValid());
    registry.versionsView()->setCurrentIndex(v2Index);

    QSignalSpy action(&registry, &RegistryPage::actionFinished);
    registry.promoteSelected("production");
    QVERIFY(action.wait(10000));
    QCOMPARE(action.back().at(0).toBool(), false);
    const QString refusal = action.back().at(1).toString();
    QVERIFY2(refusal.contains("data-poisoning") && refusal.contains("model-inversion"),
             qPrintable(refusal));

    // Sign every required item, then promotion goes through.
    QSignalSpy signedSpy(&governance, &GovernancePage::signed_);
    for (const char *item : {"data-poisoning", "model-inversion", "adversarial-robustness"}) {
        governance.signItem(QStringLiteral("security/") + item, "Ada Reviewer", "security lead",
                            "approve", "ok");
        QVERIFY(signedSpy.wait(10000));
        QCOMPARE(signedSpy.back().front().toBool(), true);
    }
    // The measured items (poisoning screen, membership inference, noise
    // robustness) still block: nothing is stored yet.
    registry.promoteSelected("production");
    QVERIFY(action.wait(10000));
    QCOMPARE(action.back().at(0).toBool(), false);
    QVERIFY2(action.back().at(1).toString().contains("membership-inference"),
             qPrintable(action.back().at(1).toString()));
    {
        auto store = store::Store::open(m_db);
        QVERIFY(store.ok());
        const store::Json robustness = {{"summary", {{"accuracy_drop_noise_0_1", 0.01}}},
                                        {"gates", store::Json::array()}};
        const store::Json poisoning = {{"summary", {{"rows", 200}, {"label_issue_share", 0.01}}}};
        const store::Json privacy = {{"mia_auc", 0.52}, {"mia_advantage", 0.05}};
        for (const auto &[kind, report] :
             {std::pair{"robustness", robustness}, std::pair{"poisoning", poisoning},
              std::pair{"privacy", privacy}})
            QVERIFY((*store)->saveEvaluation(v2.id, report, {kind, "test", std::nullopt}).ok());
    }
    registry.promoteSelected("production");
    QVERIFY(action.wait(10000));
    QVERIFY2(action.back().at(0).toBool(), qPrintable(action.back().at(1).toString()));
    QVERIFY(registryRefreshed.wait(10000));
    QCOMPARE(registry.historyModel()->rowCount(), 1);
    Q_UNUSED(v1);
    Q_UNUSED(v2);
}

void TestUiGovernance::signThroughDialog()
{
    // The user's way: select the item, press "Sign Off Selected Item…", fill
    // the dialog, press Sign.
    registerVersion(m_db, std::string(64, 'd'));
    TaskRunner tasks;
    GovernancePage page(&tasks);
    QSignalSpy refreshed(&page, &GovernancePage::refreshed);
    page.refresh();
    QVERIFY(refreshed.wait(10000));
    page.templateBox()->setCurrentIndex(page.templateBox()->findData("fairness-slices"));
    page.findChild<QPushButton *>("startChecklist")->click();
    QVERIFY(refreshed.wait(10000));
    const QModelIndex item = findKey(page.checklistModel(), "fairness-slices/gaps-reviewed");
    QVERIFY(item.isValid());
    QVERIFY(!page.signButton()->isEnabled()); // nothing selected yet
    page.checklistView()->setCurrentIndex(item);
    QVERIFY(page.signButton()->isEnabled());

    bool sawDisabledSign = false, sawEnabledSign = false;
    whenDialogShown([&](SignOffDialog *dialog) {
        QPushButton *sign = dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok);
        // Reviewer and role are required before Sign is possible.
        sawDisabledSign = !sign->isEnabled();
        dialog->findChild<QLineEdit *>("reviewer")->setText("Grace Reviewer");
        sawDisabledSign = sawDisabledSign && !sign->isEnabled();
        dialog->findChild<QLineEdit *>("role")->setText("fairness lead");
        auto *decision = dialog->findChild<QComboBox *>("decision");
        decision->setCurrentIndex(decision->findData("needs_work"));
        dialog->findChild<QPlainTextEdit *>("comment")->setPlainText("lakeside_clinic gap");
        sawEnabledSign = sign->isEnabled();
        sign->click();
    });
    QSignalSpy signedSpy(&page, &GovernancePage::signed_);
    page.signButton()->click(); // returns when the dialog closed
    QVERIFY(sawDisabledSign);
    QVERIFY(sawEnabledSign);
    QVERIFY(signedSpy.count() == 1 || signedSpy.wait(10000));
    QCOMPARE(signedSpy.front().front().toBool(), true);
    QTRY_COMPARE_WITH_TIMEOUT(
        statuses(page.checklistModel()).value("fairness-slices/gaps-reviewed"),
        QStringLiteral("needs_work"), 10000);
    // The evidence column reads as a sentence; the audit log's newest entry is the sign-off.
    const QModelIndex signedItem = findKey(page.checklistModel(), "fairness-slices/gaps-reviewed");
    const QString evidence = signedItem.siblingAtColumn(4).data().toString();
    QVERIFY2(evidence.contains("needs_work by Grace Reviewer (fairness lead)"),
             qPrintable(evidence));
    QCOMPARE(page.auditModel()->index(0, 3).data().toString(), QStringLiteral("checklist.sign"));

    auto opened = store::Store::open(m_db);
    QVERIFY(opened.ok());
    auto checklists = (*opened)->checklists().forVersion((*opened)->resolveVersion("demo")->id);
    QVERIFY(checklists.ok());
    bool found = false;
    for (const auto &checklist : *checklists)
        for (const auto &row : checklist.items)
            if (row.itemId == "gaps-reviewed") {
                auto signoffs = (*opened)->checklists().signoffs(row.id);
                QVERIFY(signoffs.ok());
                QCOMPARE(signoffs->size(), std::size_t(1));
                QCOMPARE(signoffs->front().reviewer, std::string("Grace Reviewer"));
                QCOMPARE(signoffs->front().role, std::string("fairness lead"));
                QCOMPARE(signoffs->front().decision, std::string("needs_work"));
                QCOMPARE(signoffs->front().comment, std::string("lakeside_clinic gap"));
                found = true;
            }
    QVERIFY(found);
}

void TestUiGovernance::cancelledDialogSignsNothing()
{
    registerVersion(m_db, std::string(64, 'f'));
    TaskRunner tasks;
    GovernancePage page(&tasks);
    QSignalSpy refreshed(&page, &GovernancePage::refreshed);
    page.refresh();
    QVERIFY(refreshed.wait(10000));
    page.startChecklist("security");
    QVERIFY(refreshed.wait(10000));
    const QModelIndex item = findKey(page.checklistModel(), "security/data-poisoning");
    QVERIFY(item.isValid());
    page.checklistView()->setCurrentIndex(item);
    whenDialogShown([](SignOffDialog *dialog) {
        dialog->findChild<QLineEdit *>("reviewer")->setText("Ada");
        dialog->findChild<QLineEdit *>("role")->setText("ML lead");
        dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Cancel)->click();
    });
    QSignalSpy signedSpy(&page, &GovernancePage::signed_);
    page.signButton()->click();
    QVERIFY(!signedSpy.wait(500));
    QCOMPARE(statuses(page.checklistModel()).value("security/data-poisoning"),
             QStringLiteral("open"));
}

QTEST_MAIN(TestUiGovernance)
#include "test_ui_governance.moc"
