// core/store: migrations, WAL concurrency across processes, crash safety
// (SIGKILL mid-transaction), the audit chain and refusal of bad files.
#include "core/common/sha256.h"
#include "core/store/store.h"
#include "core/workflows/register_model.h"

#include <QtTest>

#include <sqlite3.h>

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace sb;
using namespace sb::store;
namespace fs = std::filesystem;

namespace {

// Raw SQL for the test's own inspection and tampering (product code never
// does this; the store is the only code that speaks SQL).
class RawDb
{
public:
    explicit RawDb(const fs::path &path, bool readOnly = false)
    {
        sqlite3_open_v2(path.c_str(), &m_db,
                        readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, nullptr);
    }
    ~RawDb() { sqlite3_close(m_db); }
    bool exec(const std::string &sql)
    {
        return sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    QString lastError() const { return QString::fromUtf8(sqlite3_errmsg(m_db)); }
    QString text(const std::string &sql)
    {
        sqlite3_stmt *stmt = nullptr;
        QString result;
        if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW)
            result =
                QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0)));
        sqlite3_finalize(stmt);
        return result;
    }
    long long integer(const std::string &sql) { return text(sql).toLongLong(); }
    // "table(col1,col2,...)" for every table: the shape of the schema.
    QStringList schemaShape()
    {
        QStringList shape;
        sqlite3_stmt *stmt = nullptr;
        sqlite3_prepare_v2(
            m_db,
            "SELECT name FROM sqlite_master WHERE type IN ('table','index','trigger') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name",
            -1, &stmt, nullptr);
        QStringList names;
        while (sqlite3_step(stmt) == SQLITE_ROW)
            names << QString::fromUtf8(
                reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0)));
        sqlite3_finalize(stmt);
        for (const QString &name : names) {
            QStringList columns;
            std::string sql = "PRAGMA table_info(" + name.toStdString() + ")";
            sqlite3_prepare_v2(m_db, sql.c_str(), -1, &stmt, nullptr);
            while (sqlite3_step(stmt) == SQLITE_ROW)
                columns << QString::fromUtf8(
                               reinterpret_cast<const char *>(sqlite3_column_text(stmt, 1))) +
                               ":" +
                               QString::fromUtf8(
                                   reinterpret_cast<const char *>(sqlite3_column_text(stmt, 2)));
            sqlite3_finalize(stmt);
            shape << name + "(" + columns.join(",") + ")";
        }
        return shape;
    }

private:
    sqlite3 *m_db = nullptr;
};

std::string fileBytes(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

NewModelVersion sampleVersion(const std::string &name)
{
    NewModelVersion input;
    input.modelName = name;
    input.filePath = "/models/" + name + ".onnx";
    input.sha256 = sha256Hex(name);
    input.sizeBytes = 1234;
    input.producer = "pytorch 1.13.0";
    input.opsets = {{"ai.onnx", 17}};
    return input;
}

std::unique_ptr<Store> openOrFail(const fs::path &path)
{
    auto opened = Store::open(path, OpenOptions{true, "tester"});
    if (!opened.ok())
        qWarning() << QString::fromStdString(opened.error().message);
    return opened.ok() ? std::move(opened).value() : nullptr;
}

} // namespace

class TestStore : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    fs::path file(const char *name) const { return fs::path(m_dir.path().toStdString()) / name; }

private slots:
    void freshDatabaseIsConfigured()
    {
        auto store = openOrFail(file("fresh.db"));
        QVERIFY(store);
        QCOMPARE(store->schemaVersion(), Store::latestSchemaVersion());
        QVERIFY(Store::latestSchemaVersion() >= 2);
        store.reset();
        RawDb raw(file("fresh.db"));
        QCOMPARE(raw.text("PRAGMA journal_mode"), QString("wal"));
        QCOMPARE(raw.integer("PRAGMA user_version"), (long long)Store::latestSchemaVersion());
        QCOMPARE(raw.text("PRAGMA integrity_check"), QString("ok"));
    }

    // From an empty file and from every earlier schema version, with data
    // written at that version, to the latest: same schema shape as a fresh
    // database, and the old rows survive.
    void migratesFromEveryEarlierVersion_data()
    {
        QTest::addColumn<int>("fromVersion");
        for (int version = 0; version < Store::latestSchemaVersion(); ++version)
            QTest::addRow("v%d", version) << version;
    }
    void migratesFromEveryEarlierVersion()
    {
        QFETCH(int, fromVersion);
        fs::path path = file(("migrate_from_" + std::to_string(fromVersion) + ".db").c_str());
        if (fromVersion == 0) {
            std::ofstream(path).close(); // an empty file
        } else {
            QVERIFY(migrateDatabaseTo(path, fromVersion).ok());
            RawDb raw(path);
            QCOMPARE(raw.integer("PRAGMA user_version"), (long long)fromVersion);
            // v1 tables exist from version 1 on: write a model version the v1 way.
            QVERIFY2(
                raw.exec("INSERT INTO models (id, name, created_at, created_by) VALUES "
                         "(1, 'old', '2025-01-01T00:00:00.000Z', 'alice');"
                         "INSERT INTO model_versions (model_id, version, file_path, sha256, "
                         "size_bytes, producer, opsets, created_at, created_by) VALUES (1, 1, "
                         "'/m.onnx', 'abc', 10, 'p', '{}', '2025-01-01T00:00:00.000Z', 'alice');"
                         "INSERT INTO evaluations (model_version_id, kind, report, created_at, "
                         "created_by) VALUES (1, 'eval', '{\"rows\": 5}', "
                         "'2025-01-01T00:00:00.000Z', 'alice');"),
                qPrintable(raw.lastError()));
        }
        auto store = openOrFail(path);
        QVERIFY(store);
        QCOMPARE(store->schemaVersion(), Store::latestSchemaVersion());
        if (fromVersion > 0) {
            auto old = store->models().version("old", 1);
            QVERIFY(old.ok());
            QCOMPARE(QString::fromStdString(old->filePath), QString("/m.onnx"));
            QCOMPARE(QString::fromStdString(old->notes), QString()); // v2 column, default
            auto evaluation = store->evaluations().latestEvaluation(old->id);
            QVERIFY(evaluation.ok() && evaluation->has_value());
            QCOMPARE((*evaluation)->report["rows"].get<int>(), 5);
            // The migrated store takes new writes of every later table.
            QVERIFY(store->saveDriftSnapshot(old->id, {{"share_drifted", 0.25}}).ok());
            QVERIFY(store->deployments().promote(*old, "prod").ok());
        }
        QVERIFY(store->registerModelVersion(sampleVersion("new")).ok());
        store.reset();

        QVERIFY(openOrFail(file("reference_latest.db")));
        RawDb migrated(path), reference(file("reference_latest.db"));
        QCOMPARE(migrated.schemaShape(), reference.schemaShape());
        QCOMPARE(migrated.text("PRAGMA integrity_check"), QString("ok"));
        QCOMPARE(migrated.text("PRAGMA foreign_key_check"), QString());
    }

    void newerSchemaIsRefusedAndUntouched()
    {
        fs::path path = file("newer.db");
        QVERIFY(openOrFail(path));
        {
            RawDb raw(path);
            QVERIFY(raw.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;"));
            QVERIFY(raw.exec("PRAGMA user_version = " +
                             std::to_string(Store::latestSchemaVersion() + 1)));
        }
        std::string before = fileBytes(path);
        auto opened = Store::open(path);
        QVERIFY(!opened.ok());
        QCOMPARE(opened.error().code, ErrorCode::Conflict);
        QVERIFY(QString::fromStdString(opened.error().message).contains("newer"));
        QVERIFY(fileBytes(path) == before);
        QVERIFY(!fs::exists(path.string() + "-wal"));
    }

    void badFilesAreRefusedAndUntouched_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("text") << QByteArray("name,value\n1,2\n") << "not a SQLite database";
        QByteArray header("SQLite format 3", 16);
        QTest::newRow("header-then-garbage")
            << header + QByteArray(4080, '\x5a') << "SQLite database";
        QTest::newRow("short") << QByteArray("SQLite") << "not a SQLite database";
    }
    void badFilesAreRefusedAndUntouched()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        fs::path path = file("bad.db");
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out.write(bytes.constData(), bytes.size());
        }
        auto opened = Store::open(path);
        QVERIFY(!opened.ok());
        QCOMPARE(opened.error().code, ErrorCode::InvalidInput);
        QVERIFY2(QString::fromStdString(opened.error().message).contains(expected),
                 opened.error().message.c_str());
        QVERIFY(QString::fromStdString(opened.error().message).contains("bad.db"));
        QCOMPARE(QByteArray::fromStdString(fileBytes(path)), bytes);
        QVERIFY(!fs::exists(path.string() + "-wal"));
    }

    void corruptPageIsRefusedAndUntouched()
    {
        fs::path path = file("corrupt.db");
        {
            auto store = openOrFail(path);
            QVERIFY(store);
            for (int i = 0; i < 40; ++i) {
                std::string name = "m";
                name += std::to_string(i);
                QVERIFY(store->registerModelVersion(sampleVersion(name)).ok());
            }
        }
        {
            RawDb raw(path);
            QVERIFY(raw.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;"));
        }
        std::string bytes = fileBytes(path);
        QVERIFY(bytes.size() > 3 * 4096);
        // Overwrite the middle of page 3 (a b-tree page) with garbage.
        for (std::size_t i = 2 * 4096 + 8; i < 2 * 4096 + 2048; ++i)
            bytes[i] = static_cast<char>(0xA5);
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        }
        auto opened = Store::open(path);
        QVERIFY(!opened.ok());
        QCOMPARE(opened.error().code, ErrorCode::InvalidInput);
        QVERIFY2(QString::fromStdString(opened.error().message).contains("not modified"),
                 opened.error().message.c_str());
        QVERIFY(fileBytes(path) == bytes);
    }

    void foreignSqliteDatabaseIsRefused()
    {
        fs::path path = file("foreign.db");
        {
            RawDb raw(fs::path(path), false);
        }
        sqlite3 *db = nullptr;
        sqlite3_open(path.c_str(), &db);
        sqlite3_exec(db, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');",
                     nullptr, nullptr, nullptr);
        sqlite3_close(db);
        std::string before = fileBytes(path);
        auto opened = Store::open(path);
        QVERIFY(!opened.ok());
        QVERIFY(QString::fromStdString(opened.error().message).contains("not a Shardbench store"));
        QVERIFY(fileBytes(path) == before);
    }

    // The one "register a model file" workflow (GUI Registry and Evaluation
    // pages, `registry add`, the demo): producer and opsets as the ONNX file
    // records them (read here with python3-onnx), and nothing registered for a
    // file that is not an ONNX model.
    void registeringAModelFileRecordsWhatTheFileSays()
    {
        auto store = openOrFail(file("workflow.db"));
        QVERIFY(store);
        const fs::path classifier = fs::path(SB_SOURCE_DIR) / "resources/demo/classifier.onnx";
        auto found = workflows::findOrRegisterModelFile(*store, classifier, "clf", "demo");
        QVERIFY2(found.ok(), found.ok() ? "" : found.error().message.c_str());
        QVERIFY(found->registered);
        QCOMPARE(QString::fromStdString(found->version.producer), QString("pytorch 1.13.0"));
        QCOMPARE(found->version.opsets.value("ai.onnx", 0), 17);
        QCOMPARE(found->version.sha256, *sha256File(classifier));
        QCOMPARE(found->version.sizeBytes, std::int64_t(fs::file_size(classifier)));
        // The same file again: found, not registered twice.
        auto again = workflows::findOrRegisterModelFile(*store, classifier, "clf", "demo");
        QVERIFY(again.ok() && !again->registered);
        QCOMPARE(again->version.id, found->version.id);

        const fs::path notOnnx = file("notes.onnx");
        std::ofstream(notOnnx) << "not a model";
        auto refused = workflows::registerModelFile(*store, notOnnx, "bad", "");
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.find("notes.onnx") != std::string::npos,
                 refused.error().message.c_str());
        QCOMPARE(store->resolveVersion("bad").error().code, ErrorCode::NotFound);
        QCOMPARE(workflows::registerModelFile(*store, file("missing.onnx"), "m", "").error().code,
                 ErrorCode::NotFound);
    }

    void registryVersionsAndLookups()
    {
        auto store = openOrFail(file("registry.db"));
        QVERIFY(store);
        auto v1 = store->registerModelVersion(sampleVersion("clf"));
        auto v2 = store->registerModelVersion(sampleVersion("clf"));
        QVERIFY(v1.ok() && v2.ok());
        QCOMPARE(v1->version, 1);
        QCOMPARE(v2->version, 2);
        QCOMPARE(store->resolveVersion("clf")->version, 2);
        QCOMPARE(store->resolveVersion("clf:1")->id, v1->id);
        QCOMPARE(store->resolveVersion("clf:9").error().code, ErrorCode::NotFound);
        QCOMPARE(store->resolveVersion("clf:x").error().code, ErrorCode::InvalidInput);
        auto found = store->models().findBySha256(sha256Hex("clf"));
        QVERIFY(found.ok() && found->has_value());
        QCOMPARE((*found)->version, 2);
        auto bad = sampleVersion("a:b");
        QCOMPARE(store->registerModelVersion(bad).error().code, ErrorCode::InvalidInput);
        auto counts = store->tableCounts();
        QVERIFY(counts.ok());
        QCOMPARE((*counts)["model_versions"], 2);
        QCOMPARE((*counts)["audit_log"], 2);
    }

    void rollbackWalksBackThroughPromotions()
    {
        auto store = openOrFail(file("deploy.db"));
        QVERIFY(store);
        std::vector<ModelVersionRecord> versions;
        for (int i = 0; i < 3; ++i)
            versions.push_back(store->registerModelVersion(sampleVersion("clf")).value());
        auto &deployments = store->deployments();
        QCOMPARE(deployments.rollback("clf", "prod").error().code, ErrorCode::Conflict);
        QVERIFY(deployments.promote(versions[0], "prod").ok());
        QCOMPARE(deployments.rollback("clf", "prod").error().code, ErrorCode::Conflict);
        QVERIFY(deployments.promote(versions[1], "prod").ok());
        QCOMPARE(deployments.promote(versions[1], "prod").error().code, ErrorCode::Conflict);
        QVERIFY(deployments.promote(versions[2], "prod").ok());
        QVERIFY(deployments.promote(versions[2], "staging").ok());
        QCOMPARE(deployments.active("clf", "prod")->value().version, 3);
        QCOMPARE(deployments.rollback("clf", "prod")->version, 2);
        QCOMPARE(deployments.rollback("clf", "prod")->version, 1);
        QCOMPARE(deployments.rollback("clf", "prod").error().code, ErrorCode::Conflict);
        QCOMPARE(deployments.active("clf", "prod")->value().version, 1);
        QCOMPARE(deployments.active("clf", "staging")->value().version, 3);
        auto history = deployments.history("clf", "prod");
        QVERIFY(history.ok());
        QStringList seen;
        for (const auto &entry : *history)
            seen << QString::fromStdString(entry.action) + ":" + QString::number(entry.version);
        QCOMPARE(seen,
                 QStringList({"promote:1", "promote:2", "promote:3", "rollback:2", "rollback:1"}));
        QCOMPARE(deployments.history("clf")->size(), std::size_t(6));
    }

    void auditChainDetectsTampering()
    {
        fs::path path = file("audit.db");
        {
            auto store = openOrFail(path);
            QVERIFY(store);
            for (int i = 0; i < 5; ++i)
                QVERIFY(
                    store->audit()
                        .append("test.event", "s" + std::to_string(i), {{"i", i}, {"note", "x"}})
                        .ok());
            auto verification = store->audit().verify();
            QVERIFY(verification.ok() && verification->ok);
            QCOMPARE(verification->entries, 5);
            auto entries = store->audit().entries();
            QCOMPARE(QString::fromStdString((*entries)[0].prevHash), QString(64, '0'));
            // Recompute entry 2's hash independently of the store's helper.
            const auto &e = (*entries)[1];
            nlohmann::json canonical = {{"action", e.action},      {"actor", e.actor},
                                        {"details", e.details},    {"id", e.id},
                                        {"prev_hash", e.prevHash}, {"subject", e.subject},
                                        {"time", e.time}};
            QCOMPARE(QString::fromStdString(sha256Hex(e.prevHash + canonical.dump())),
                     QString::fromStdString(e.hash));
            QCOMPARE(QString::fromStdString(e.prevHash),
                     QString::fromStdString((*entries)[0].hash));
        }
        RawDb raw(path);
        // The triggers refuse edits and deletions.
        QVERIFY(!raw.exec("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"));
        QVERIFY(raw.lastError().contains("append-only"));
        QVERIFY(!raw.exec("DELETE FROM audit_log WHERE id = 3"));
        // Someone with raw access drops the trigger and edits a row.
        QVERIFY(raw.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"));
        QVERIFY(raw.exec("UPDATE audit_log SET details = '{\"i\":2,\"note\":\"y\"}' WHERE id = 3"));
        {
            auto store = openOrFail(path);
            auto verification = store->audit().verify();
            QVERIFY(verification.ok());
            QVERIFY(!verification->ok);
            QCOMPARE(*verification->firstBadId, Id(3));
            QVERIFY(QString::fromStdString(verification->problem).contains("altered"));
        }
        // Restore the row, then delete a middle entry: the id gap is reported.
        QVERIFY(raw.exec("UPDATE audit_log SET details = '{\"i\":2,\"note\":\"x\"}' WHERE id = 3"));
        QVERIFY(openOrFail(path)->audit().verify()->ok);
        QVERIFY(raw.exec("DELETE FROM audit_log WHERE id = 4"));
        {
            auto verification = openOrFail(path)->audit().verify();
            QVERIFY(!verification->ok);
            QCOMPARE(*verification->firstBadId, Id(4));
            QVERIFY(QString::fromStdString(verification->problem).contains("deleted"));
        }
    }

    // The audit entry of a stored report summarises it from its own shape:
    // the top-level scalars and every overall metric, nothing nested.
    void auditSummaryIsDerivedFromTheReport_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<bool>("drift");
        QTest::newRow("eval") << "eval_demo.json" << false;
        QTest::newRow("drift") << "drift_demo.json" << true;
        QTest::newRow("quality") << "quality_demo.json" << false;
    }
    void auditSummaryIsDerivedFromTheReport()
    {
        QFETCH(QString, fixture);
        QFETCH(bool, drift);
        auto store = openOrFail(file("summary.db"));
        QVERIFY(store);
        const Json report =
            Json::parse(fileBytes(fs::path(SB_TESTDATA_DIR) / "store" / fixture.toStdString()));
        QVERIFY(drift ? store->saveDriftSnapshot(std::nullopt, report).ok()
                      : store->saveEvaluation(std::nullopt, report).ok());
        auto entries = store->audit().entries();
        QVERIFY(entries.ok() && !entries->empty());
        const Json &details = entries->back().details;
        int scalars = 0;
        for (const auto &[key, value] : report.items()) {
            if (value.is_object() || value.is_array() || value.is_null()) {
                QVERIFY2(!details.contains(key), key.c_str());
            } else {
                QVERIFY2(details.contains(key) && details[key] == value, key.c_str());
                ++scalars;
            }
        }
        QVERIFY(scalars >= 2);
        if (report.contains("overall")) {
            QVERIFY(report["overall"].size() >= 10);
            for (const auto &[key, value] : report["overall"].items())
                QVERIFY2(details.contains(key) && details[key] == value, key.c_str());
        }
    }

    void auditDetectsTruncatedTail()
    {
        fs::path path = file("tail.db");
        {
            auto store = openOrFail(path);
            for (int i = 0; i < 4; ++i)
                QVERIFY(store->audit().append("e", "s", {{"i", i}}).ok());
        }
        RawDb raw(path);
        QVERIFY(raw.exec("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = 4;"));
        auto verification = openOrFail(path)->audit().verify();
        QVERIFY(!verification->ok);
        QCOMPARE(*verification->firstBadId, Id(4));
    }

    // Two processes append audited rows at once through WAL + busy timeout +
    // BEGIN IMMEDIATE: nothing is lost and the chain stays valid.
    void concurrentWritersLoseNothing()
    {
        fs::path path = file("concurrent.db");
        QVERIFY(openOrFail(path));
        constexpr int kPerProcess = 150;
        std::vector<pid_t> children;
        for (int child = 0; child < 2; ++child) {
            pid_t pid = fork();
            QVERIFY(pid >= 0);
            if (pid == 0) {
                auto opened =
                    Store::open(path, OpenOptions{true, "writer" + std::to_string(child)});
                if (!opened.ok())
                    _exit(10);
                auto &store = **opened;
                for (int i = 0; i < kPerProcess; ++i) {
                    if (i % 3 == 0) {
                        if (!store.registerModelVersion(sampleVersion("w" + std::to_string(child)))
                                 .ok())
                            _exit(11);
                    } else if (!store.audit()
                                    .append("concurrent", "w" + std::to_string(child), {{"i", i}})
                                    .ok()) {
                        _exit(12);
                    }
                }
                _exit(0);
            }
            children.push_back(pid);
        }
        for (pid_t pid : children) {
            int status = 0;
            QCOMPARE(waitpid(pid, &status, 0), pid);
            QVERIFY(WIFEXITED(status));
            QCOMPARE(WEXITSTATUS(status), 0);
        }
        auto store = openOrFail(path);
        auto verification = store->audit().verify();
        QVERIFY(verification.ok() && verification->ok);
        QCOMPARE(verification->entries, std::int64_t(2 * kPerProcess));
        QCOMPARE(store->models().versions("w0")->size(), std::size_t(kPerProcess / 3));
        QCOMPARE(store->models().versions("w1")->size(), std::size_t(kPerProcess / 3));
    }

    // A child runs one big multi-row write (a checklist with many items) and
    // is SIGKILLed once its uncommitted pages spill into the WAL: the file
    // passes integrity_check and holds all or none of that write.
    void sigkillMidTransactionLeavesAllOrNothing()
    {
        fs::path path = file("killed.db");
        Id versionId = 0;
        {
            auto store = openOrFail(path);
            versionId = store->registerModelVersion(sampleVersion("victim"))->id;
        }
        auto walSize = [&] {
            std::error_code ec;
            auto size = fs::file_size(path.string() + "-wal", ec);
            return ec ? std::uintmax_t(0) : size;
        };
        const std::uintmax_t walBefore = walSize();
        constexpr int kItems = 60000;
        pid_t pid = fork();
        QVERIFY(pid >= 0);
        if (pid == 0) {
            auto opened = Store::open(path, OpenOptions{true, "child"});
            if (!opened.ok())
                _exit(10);
            std::vector<ChecklistItemRecord> items(kItems);
            for (int i = 0; i < kItems; ++i) {
                items[i].itemId = "item-" + std::to_string(i);
                items[i].text = std::string(200, 'a' + i % 26);
                items[i].kind = "manual";
            }
            auto created = (*opened)->checklists().create(versionId, "big", "Big", {}, items);
            _exit(created.ok() ? 0 : 11);
        }
        bool killedMidway = false;
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 20000) {
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid)
                break; // finished before we saw the spill (still checked below)
            if (walSize() > walBefore + 2 * 1024 * 1024) {
                kill(pid, SIGKILL);
                killedMidway = true;
                break;
            }
            usleep(200);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        QVERIFY2(killedMidway, "the child finished before its transaction spilled; enlarge kItems");
        QVERIFY(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        auto store = openOrFail(path);
        QVERIFY(store);
        {
            RawDb raw(path, true);
            QCOMPARE(raw.text("PRAGMA integrity_check"), QString("ok"));
            long long items = raw.integer("SELECT count(*) FROM checklist_items");
            long long checklists = raw.integer("SELECT count(*) FROM checklists");
            QVERIFY2(
                (items == 0 && checklists == 0) || (items == kItems && checklists == 1),
                qPrintable(
                    QString("partial write: %1 items, %2 checklists").arg(items).arg(checklists)));
            qInfo(
                "after SIGKILL: %lld checklist items, %lld checklists (WAL grew past 2 MiB first)",
                items, checklists);
        }
        QVERIFY(store->audit().verify()->ok);
        // The store keeps working after the crash.
        QVERIFY(store->checklists().create(versionId, "small", "Small", {}, {}).ok());
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "test_store.moc"
