// Deployments page against a real store: serve the version active in
// "staging" from the page, send real protocol requests over loopback, watch
// the live series and the monitoring windows arrive without the GUI thread
// blocking, then stop.
#include "core/store/store.h"
#include "ui/common/store_access.h"
#include "ui/common/task_runner.h"
#include "ui/deploy/deploy_page.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QTest>

#include <thread>

using namespace sb;
using namespace sb::ui;

class TestUiDeploy : public QObject
{
    Q_OBJECT
private slots:
    void servesAndCharts()
    {
        QTemporaryDir dir;
        const std::filesystem::path db = dir.filePath("store.db").toStdString();
        setGuiDatabasePath(db);
        const std::string model = SB_SOURCE_DIR "/resources/demo/classifier.onnx";
        {
            auto opened = store::Store::open(db);
            QVERIFY(opened.ok());
            store::NewModelVersion input;
            input.modelName = "classifier";
            input.filePath = model;
            input.sha256 = std::string(64, '0');
            auto version = (*opened)->models().addVersion(input);
            QVERIFY(version.ok());
            QVERIFY((*opened)->deployments().promote(*version, "staging").ok());
        }
        TaskRunner tasks;
        DeploymentsPage page(&tasks);
        QAbstractItemModelTester seriesTester(page.seriesModel());
        QAbstractItemModelTester windowTester(page.windowModel());
        page.setRefreshInterval(100);
        QSignalSpy serving(&page, &DeploymentsPage::servingChanged);
        page.startServing("staging", 0);
        QVERIFY(serving.wait(20000));
        QVERIFY2(page.serving(), qPrintable(page.statusText()));
        QVERIFY(page.statusText().contains("classifier:1"));
        const QUrl url(page.url());
        QVERIFY(url.port() > 0);

        // 120 single-row requests from a client thread while the GUI thread keeps
        // running its event loop (it must stay responsive: we measure gaps).
        std::atomic<int> ok{0};
        std::thread client([&] {
            httplib::Client http("127.0.0.1", url.port());
            for (int i = 0; i < 120; ++i) {
                nlohmann::json body = {
                    {"id", std::string("g").append(std::to_string(i))},
                    {"inputs",
                     {{{"name", "features"},
                       {"shape", {1, 30}},
                       {"datatype", "FP32"},
                       {"data",
                        std::vector<float>(30, 0.5f + 0.01f * static_cast<float>(i % 7))}}}}};
                auto res =
                    http.Post("/v2/models/classifier/infer", body.dump(), "application/json");
                if (res && res->status == 200)
                    ++ok;
            }
        });
        QElapsedTimer wall, gap;
        wall.start();
        gap.start();
        qint64 longestGap = 0;
        while (wall.elapsed() < 30000 && (ok < 120 || page.windowModel()->rowCount() < 1 ||
                                          page.seriesModel()->rowCount() < 3)) {
            QTest::qWait(20);
            longestGap = std::max(longestGap, gap.restart());
        }
        client.join();
        QCOMPARE(ok.load(), 120);
        QVERIFY(page.seriesModel()->rowCount() >= 3);
        // Default window: 100 rows -> one closed window with a CBPE estimate.
        QCOMPARE(page.windowModel()->rowCount(), 1);
        const auto &w = page.windowModel()->windows().front();
        QCOMPARE(w.rows, std::int64_t(100));
        QVERIFY(w.estimatedAccuracy.has_value());
        double maxRps = 0;
        for (int r = 0; r < page.seriesModel()->rowCount(); ++r)
            maxRps =
                std::max(maxRps, page.seriesModel()->value(r, ServeSeriesModel::RequestsPerSecond));
        QVERIFY(maxRps > 0);
        QVERIFY2(longestGap < 3000,
                 qPrintable(QString("GUI thread blocked %1 ms").arg(longestGap)));

        page.stopServing();
        QVERIFY(serving.wait(20000));
        QVERIFY(!page.serving());
        QVERIFY(tasks.waitForDone(20000));
    }
};

QTEST_MAIN(TestUiDeploy)
#include "test_ui_deploy.moc"
