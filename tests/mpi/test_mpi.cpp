// Plans across MPI ranks (shardbench-cli --launcher mpi, 3 ranks on loopback)
// give the single-process outputs; a killed rank ends the run with exit 4
// naming it and leaves no process of the run; Ctrl-C stops every rank (130);
// hosts lists, hostfiles and the rank layout.
#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"
#include "core/plan/mpi_run.h"
#include "core/plan/validate.h"
#include "core/runtime/tensor_io.h"

#include <nlohmann/json.hpp>

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <csignal>
#include <filesystem>
#include <fstream>

using namespace sb;

namespace {

const QString kDecoder = SB_SOURCE_DIR "/resources/demo/decoder.onnx";
const QString kDecoderInput = SB_SOURCE_DIR "/resources/demo/decoder_input.npy";
const QString kResnet = SB_TESTDATA_DIR "/models/resnet_tiny.onnx";
const QString kResnetInput = SB_TESTDATA_DIR "/models/resnet_tiny.in0.npy";

struct Cli
{
    int exitCode = -1;
    QString out;
    QString err;
};

Cli runCli(const QStringList &arguments, int timeoutMs = 180000)
{
    QProcess process;
    process.start(SB_CLI_PATH, arguments);
    Cli cli;
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        cli.err = "timed out";
        return cli;
    }
    cli.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    cli.out = QString::fromUtf8(process.readAllStandardOutput());
    cli.err = QString::fromUtf8(process.readAllStandardError());
    return cli;
}

double maxRelativeError(const runtime::Tensor &actual, const runtime::Tensor &expected)
{
    if (actual.shape() != expected.shape() || actual.type() != expected.type() ||
        expected.type() != graph::ElementType::Float32)
        return 1e30;
    double maxAbs = 0, maxRef = 0;
    for (std::int64_t i = 0; i < expected.elementCount(); ++i) {
        maxAbs =
            std::max(maxAbs, std::abs(double(actual.as<float>()[i]) - expected.as<float>()[i]));
        maxRef = std::max(maxRef, std::abs(double(expected.as<float>()[i])));
    }
    return maxRef > 0 ? maxAbs / maxRef : maxAbs;
}

// Processes whose command line contains `needle` (other than this one).
QStringList processesWith(const QString &needle)
{
    QStringList found;
    for (const QString &entry : QDir("/proc").entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        bool number = false;
        const qint64 pid = entry.toLongLong(&number);
        if (!number || pid == QCoreApplication::applicationPid())
            continue;
        QFile file("/proc/" + entry + "/cmdline");
        if (!file.open(QIODevice::ReadOnly))
            continue;
        QByteArray cmdline = file.readAll();
        cmdline.replace('\0', ' ');
        QFile stat("/proc/" + entry + "/stat");
        QString state;
        if (stat.open(QIODevice::ReadOnly)) {
            const QString text = QString::fromUtf8(stat.readAll());
            state = text.section(')', -1).trimmed().left(1);
        }
        if (cmdline.contains(needle.toUtf8()) && state != "Z")
            found << entry + " " + QString::fromUtf8(cmdline);
    }
    return found;
}

// Starts a long `bench --launcher mpi` and waits until rank 0 finished its
// first iteration; returns stderr so far (with the ranks' pid lines).
QString startLongMpiBench(QProcess &cli, const QStringList &arguments)
{
    cli.start(SB_CLI_PATH, QStringList{"bench", "--launcher", "mpi", "--hosts", "localhost:3",
                                       "--warmup", "0", "--json"} +
                               arguments);
    if (!cli.waitForStarted())
        return {};
    QString err;
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < 120000 && cli.state() == QProcess::Running &&
           !err.contains("iteration 1/")) {
        cli.waitForReadyRead(200);
        err += QString::fromUtf8(cli.readAllStandardError());
    }
    return err;
}

qint64 rankPid(const QString &err, int rank)
{
    const QRegularExpression line(QString(R"(\[rank %1 \S+\] pid (\d+))").arg(rank));
    return line.match(err).captured(1).toLongLong();
}

} // namespace

class TestMpi : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_decoderPlan, m_resnetPlan;

    QString makePlan(const QString &model, const QString &name, int batch, const QStringList &extra)
    {
        const QString plan = m_dir.filePath(name);
        QStringList arguments{"plan",          model,
                              "--cpu-devices", "3",
                              "--devices",     "cpu:0,cpu:1,cpu:2",
                              "--batch",       QString::number(batch),
                              "--out",         plan};
        arguments << extra;
        Cli cli = runCli(arguments);
        if (cli.exitCode != 0)
            qFatal("plan failed: %s", qPrintable(cli.err));
        return plan;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
#ifndef SB_TEST_MPI
        QSKIP("built without MPI");
#endif
        m_decoderPlan =
            makePlan(kDecoder, "decoder.plan.json", 8, {"--microbatches", "8", "--dim", "seq=64"});
        m_resnetPlan = makePlan(kResnet, "resnet.plan.json", 2, {"--microbatches", "2"});
        // Both plans use all three devices.
        for (const QString &path : {m_decoderPlan, m_resnetPlan}) {
            std::ifstream in(path.toStdString());
            auto doc = nlohmann::json::parse(in);
            std::set<std::string> used;
            for (const auto &[node, device] : doc["assignment"].items())
                used.insert(device.get<std::string>());
            QCOMPARE(used.size(), std::size_t(3));
        }
    }

    void dryRunPrintsTheCommand()
    {
        Cli cli = runCli({"run", kDecoder, "--input", "input_ids=" + kDecoderInput, "--plan",
                          m_decoderPlan, "--launcher", "mpi", "--hosts", "localhost:3", "--dry-run",
                          "--output-dir", m_dir.filePath("dry")});
        QCOMPARE(cli.exitCode, 0);
        for (const char *part : {"mpirun", "--oversubscribe", "-np 3", "--host localhost:3",
                                 "shardbench-worker", "--mpi-job", "btl_tcp_if_include lo"})
            QVERIFY2(cli.out.contains(part), qPrintable(cli.out));
        QVERIFY(!QDir(m_dir.filePath("dry")).exists());
    }

    void mpiRunMatchesSingleProcess_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("plan");
        // Open MPI's shared-memory copy mechanism for large messages (empty:
        // its default, one copy through process_vm_readv). "none" moves a
        // large message in fragments, so receives on one link complete out
        // of order (a later small one before an earlier large one): the
        // transport must still deliver each link in order.
        QTest::addColumn<QString>("copyMechanism");
        QTest::newRow("demo decoder")
            << kDecoder << "input_ids=" + kDecoderInput << "decoder" << QString();
        QTest::newRow("demo decoder, fragmented")
            << kDecoder << "input_ids=" + kDecoderInput << "decoder"
            << "none";
        QTest::newRow("resnet_tiny") << kResnet << "input=" + kResnetInput << "resnet" << QString();
    }
    void mpiRunMatchesSingleProcess()
    {
        QFETCH(QString, model);
        QFETCH(QString, input);
        QFETCH(QString, plan);
        QFETCH(QString, copyMechanism);
        const QString planPath = plan == "decoder" ? m_decoderPlan : m_resnetPlan;
        // mpirun passes OMPI_MCA_* variables of its environment to the ranks.
        struct CopyMechanism
        {
            explicit CopyMechanism(const QString &value)
            {
                if (!value.isEmpty())
                    qputenv("OMPI_MCA_btl_vader_single_copy_mechanism", value.toUtf8());
            }
            ~CopyMechanism() { qunsetenv("OMPI_MCA_btl_vader_single_copy_mechanism"); }
        } copyMechanismScope(copyMechanism);
        const QString outDir = plan + (copyMechanism.isEmpty() ? "" : "-" + copyMechanism);
        // The reference: one process, one executor.
        Cli single = runCli({"run", model, "--input", input, "--output-dir",
                             m_dir.filePath(outDir + "-single"), "--threads", "1"});
        QCOMPARE(single.exitCode, 0);
        Cli mpi = runCli({"run", model, "--input", input, "--plan", planPath, "--launcher", "mpi",
                          "--hosts", "localhost:3", "--output-dir", m_dir.filePath(outDir + "-mpi"),
                          "--json"});
        QVERIFY2(mpi.exitCode == 0, qPrintable(mpi.err));
        const auto doc = nlohmann::json::parse(mpi.out.toStdString());
        // Same JSON as a local run, plus host and rank per stage.
        QCOMPARE(doc["launcher"], "mpi");
        QCOMPARE(doc["stages"].size(), std::size_t(3));
        std::set<int> ranks;
        for (const auto &stage : doc["stages"]) {
            QCOMPARE(stage["host"], "localhost");
            ranks.insert(stage["rank"].get<int>());
        }
        QCOMPARE(ranks, (std::set<int>{0, 1, 2}));
        QVERIFY(!doc["links"].empty());
        for (const auto &link : doc["links"])
            QVERIFY(link["bytes"].get<std::uint64_t>() > 0);
        // Per-rank progress was streamed.
        for (int r = 0; r < 3; ++r)
            QVERIFY2(mpi.err.contains(QString("[rank %1 ").arg(r)), qPrintable(mpi.err));
        for (const auto &out : doc["outputs"]) {
            auto expected = runtime::readTensorFile(
                m_dir
                    .filePath(
                        outDir + "-single/" +
                        QString::fromStdString(out["file"].get<std::string>()).section('/', -1))
                    .toStdString());
            auto actual = runtime::readTensorFile(out["file"].get<std::string>());
            QVERIFY(expected.ok() && actual.ok());
            const double error = maxRelativeError(*actual, *expected);
            qInfo("%s: max rel err %.3g", out["name"].get<std::string>().c_str(), error);
            QVERIFY(error <= 1e-5);
        }
    }

    void severalStagesShareARank()
    {
        // Two slots for three devices: cpu:0 and cpu:2 share rank 0.
        Cli mpi = runCli({"run", kResnet, "--input", "input=" + kResnetInput, "--plan",
                          m_resnetPlan, "--launcher", "mpi", "--hosts", "localhost:2",
                          "--output-dir", m_dir.filePath("shared-mpi"), "--json"});
        QVERIFY2(mpi.exitCode == 0, qPrintable(mpi.err));
        const auto doc = nlohmann::json::parse(mpi.out.toStdString());
        std::vector<int> ranks;
        for (const auto &stage : doc["stages"])
            ranks.push_back(stage["rank"].get<int>());
        QCOMPARE(ranks, (std::vector<int>{0, 1, 0}));
        Cli single = runCli({"run", kResnet, "--input", "input=" + kResnetInput, "--output-dir",
                             m_dir.filePath("shared-single"), "--threads", "1"});
        QCOMPARE(single.exitCode, 0);
        auto expected =
            runtime::readTensorFile(m_dir.filePath("shared-single/logits.npy").toStdString());
        auto actual =
            runtime::readTensorFile(m_dir.filePath("shared-mpi/logits.npy").toStdString());
        QVERIFY(expected.ok() && actual.ok());
        QVERIFY(maxRelativeError(*actual, *expected) <= 1e-5);
    }

    void modelHashMismatchIsRefused()
    {
        // Every rank hashes the model it finds at the path; rank 0 compares
        // with the launcher's digest (here a wrong one) and refuses: exit 2.
        auto graph = graph::importOnnxFile(kResnet.toStdString());
        QVERIFY(graph.ok());
        auto plan = plan::readPlanFile(m_resnetPlan.toStdString());
        QVERIFY(plan.ok());
        auto stages = plan::buildStageGraph(**graph, *plan);
        QVERIFY(stages.ok());
        plan::MpiJob job;
        job.runId = "hashtest";
        job.model = kResnet.toStdString();
        job.modelSha256 = std::string(64, '0');
        job.plan = plan::planToJson(*plan);
        job.result = m_dir.filePath("hash-result.json").toStdString();
        job.inputs = {{"input", kResnetInput.toStdString()}};
        auto layout = plan::layoutStages(*plan, *stages, {{"localhost", 3}});
        QVERIFY(layout.ok());
        job.layout = *layout;
        plan::MpiLaunchOptions options;
        options.worker =
            (QFileInfo(SB_CLI_PATH).absolutePath() + "/shardbench-worker").toStdString();
        auto result = plan::launchMpiJob(job, m_dir.filePath("hash-job.json").toStdString(),
                                         options, {}, nullptr);
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, ErrorCode::InvalidInput);
        const QString message = QString::fromStdString(result.error().message);
        QVERIFY2(message.contains("rank 0 (host localhost") && message.contains("sha256") &&
                     message.contains(QString(64, '0')),
                 qPrintable(message));
    }

    void hostLinksReachThePlan()
    {
        // Measured host links become links between devices of different hosts.
        plan::DeviceSet set;
        for (const char *id : {"cpu:0", "node2/cpu:0", "node2/cpu:1"}) {
            plan::DeviceSpec device;
            device.id = id;
            device.kind = "cpu";
            set.devices.push_back(device);
        }
        plan::addHostLinks(
            set, {{"localhost", "node2", 1e9, 50e-6}, {"node2", "localhost", 2e9, 60e-6}});
        QCOMPARE(set.links.size(), std::size_t(4)); // cpu:0 <-> each node2 device
        const plan::LinkSpec link = set.link("cpu:0", "node2/cpu:1");
        QCOMPARE(link.bandwidth, 1e9);
        QCOMPARE(link.latencySeconds, 50e-6);
        QCOMPARE(set.link("node2/cpu:0", "cpu:0").bandwidth, 2e9);
        QCOMPARE(set.link("node2/cpu:0", "node2/cpu:1").name, set.defaultLink.name); // same host
        // calibrate --hosts measures real links through mpirun (two ranks here).
        const QString out = m_dir.filePath("host_links.json");
        Cli cli = runCli({"calibrate", "--hosts", "localhost,localhost", "--links-out", out,
                          "--bytes", "1048576", "--rounds", "3", "--json"});
        QVERIFY2(cli.exitCode == 0, qPrintable(cli.err));
        const auto doc = nlohmann::json::parse(cli.out.toStdString());
        QCOMPARE(doc["host_links"].size(), std::size_t(2));
        QVERIFY(doc["host_links"][0]["bandwidth"].get<double>() > 1e6);
        QVERIFY(doc["host_links"][0]["latency_s"].get<double>() > 0);
        auto loaded = plan::loadHostLinks(out.toStdString());
        QVERIFY(loaded.ok());
        QCOMPARE(loaded->size(), std::size_t(2));
    }

    void killedRankEndsTheRun()
    {
        QProcess cli;
        QString err = startLongMpiBench(cli, {kDecoder, "--input", "input_ids=" + kDecoderInput,
                                              "--plan", m_decoderPlan, "--iters", "100000"});
        const qint64 victim = rankPid(err, 1);
        QString runId;
        QVERIFY2(victim > 0 && err.contains("iteration 1/"), qPrintable(err));
        {
            QFile cmdline(QString("/proc/%1/cmdline").arg(victim));
            QVERIFY(cmdline.open(QIODevice::ReadOnly));
            const QList<QByteArray> args = cmdline.readAll().split('\0');
            for (int i = 0; i + 1 < args.size(); ++i)
                if (args[i] == "--run-id")
                    runId = QString::fromUtf8(args[i + 1]);
        }
        QVERIFY(!runId.isEmpty());
        QVERIFY(processesWith(runId).size() >= 3); // mpirun + 3 ranks
        QElapsedTimer sinceKill;
        sinceKill.start();
        QCOMPARE(::kill(static_cast<pid_t>(victim), SIGKILL), 0);
        QVERIFY(cli.waitForFinished(30000));
        QVERIFY(sinceKill.elapsed() < 30000);
        err += QString::fromUtf8(cli.readAllStandardError());
        QCOMPARE(cli.exitCode(), 4);
        const QString last = err.trimmed().section('\n', -1);
        QVERIFY2(err.contains("rank 1 (host localhost, stage 1"), qPrintable(err));
        QVERIFY(cli.readAllStandardOutput().isEmpty()); // no result JSON
        // Nothing of the run is left.
        QTRY_VERIFY_WITH_TIMEOUT(processesWith(runId).isEmpty(), 5000);
        QVERIFY(!QDir(QDir::tempPath() + "/shardbench-mpi-" + runId).exists());
        Q_UNUSED(last);
    }

    void stuckRankIsCaughtByHeartbeat()
    {
        // A stopped rank (SIGSTOP: alive for mpirun, silent for us) misses its
        // heartbeats; rank 0 ends the run naming it, and every rank goes.
        QProcess cli;
        QString err = startLongMpiBench(cli, {kResnet, "--input", "input=" + kResnetInput, "--plan",
                                              m_resnetPlan, "--iters", "1000000",
                                              "--heartbeat-timeout", "2"});
        const qint64 rank2 = rankPid(err, 2);
        QVERIFY2(rank2 > 0 && err.contains("iteration 1/") && cli.state() == QProcess::Running,
                 qPrintable(err.right(800)));
        QElapsedTimer sinceStop;
        sinceStop.start();
        QCOMPARE(::kill(static_cast<pid_t>(rank2), SIGSTOP), 0);
        const bool finished = cli.waitForFinished(30000);
        if (!finished)
            ::kill(static_cast<pid_t>(rank2), SIGKILL);
        err += QString::fromUtf8(cli.readAllStandardError());
        QVERIFY2(finished, qPrintable(err.right(800)));
        QVERIFY(sinceStop.elapsed() < 30000);
        err += QString::fromUtf8(cli.readAllStandardError());
        QCOMPARE(cli.exitCode(), 4);
        QVERIFY2(err.contains("rank 2 (host localhost, stage 2") && err.contains("heartbeat"),
                 qPrintable(err.right(600)));
        QTRY_VERIFY_WITH_TIMEOUT(::kill(static_cast<pid_t>(rank2), 0) != 0, 5000);
    }

    void unreachableHostEndsTheRun()
    {
        // A plan device on a host that cannot be reached (.invalid never
        // resolves): mpirun cannot start the rank there; exit 4 at once.
        std::ifstream in(m_resnetPlan.toStdString());
        auto doc = nlohmann::json::parse(in);
        for (auto &[node, device] : doc["assignment"].items())
            if (device == "cpu:2")
                device = "nohost.invalid/cpu:0";
        for (auto &device : doc["devices"])
            if (device["id"] == "cpu:2")
                device["id"] = "nohost.invalid/cpu:0";
        const QString plan = m_dir.filePath("unreachable.plan.json");
        std::ofstream(plan.toStdString()) << doc.dump();
        QElapsedTimer clock;
        clock.start();
        Cli cli = runCli({"run", kResnet, "--input", "input=" + kResnetInput, "--plan", plan,
                          "--launcher", "mpi", "--hosts", "localhost:2,nohost.invalid:1",
                          "--output-dir", m_dir.filePath("unreachable")},
                         60000);
        QVERIFY(clock.elapsed() < 30000);
        QCOMPARE(cli.exitCode, 4);
        QVERIFY2(cli.err.contains("MPI run failed"), qPrintable(cli.err.right(600)));
        QVERIFY(!QFileInfo::exists(m_dir.filePath("unreachable/logits.npy")));
    }

    void interruptStopsEveryRank()
    {
        QProcess cli;
        const QString err = startLongMpiBench(cli, {kResnet, "--input", "input=" + kResnetInput,
                                                    "--plan", m_resnetPlan, "--iters", "1000000"});
        QVERIFY2(err.contains("iteration 1/"), qPrintable(err));
        const qint64 rank2 = rankPid(err, 2);
        QVERIFY(rank2 > 0);
        QCOMPARE(::kill(static_cast<pid_t>(cli.processId()), SIGINT), 0);
        QVERIFY(cli.waitForFinished(30000));
        QCOMPARE(cli.exitCode(), 130);
        QTRY_VERIFY_WITH_TIMEOUT(::kill(static_cast<pid_t>(rank2), 0) != 0, 5000);
    }

    void hostListsAndLayout()
    {
        auto hosts = plan::parseHostList("localhost:2,node2:4,node3");
        QVERIFY(hosts.ok());
        QCOMPARE(hosts->size(), std::size_t(3));
        QCOMPARE((*hosts)[1].slotCount, 4);
        QCOMPARE((*hosts)[2].slotCount, 1);
        QVERIFY(!plan::parseHostList("a:0").ok());
        QVERIFY(!plan::parseHostList("a;rm -rf:1").ok());
        const QString hostfile = m_dir.filePath("hosts");
        {
            std::ofstream out(hostfile.toStdString());
            out << "# cluster\nlocalhost slots=2\nnode2 slots=3 # gpu box\n\nnode3 bogus=1\n";
        }
        auto bad = plan::readHostfile(hostfile.toStdString());
        QVERIFY(!bad.ok());
        QVERIFY(QString::fromStdString(bad.error().message).contains(":5"));
        {
            std::ofstream out(hostfile.toStdString());
            out << "# cluster\nlocalhost slots=2\nnode2 slots=3 # gpu box\n";
        }
        auto good = plan::readHostfile(hostfile.toStdString());
        QVERIFY(good.ok());
        QCOMPARE((*good)[1].host, std::string("node2"));
        QCOMPARE((*good)[1].slotCount, 3);

        // Layout: local devices on the first host, node2's on node2; two
        // stages on one device share a rank; a host with fewer slots than
        // devices puts several devices on one rank.
        plan::Plan plan;
        plan::StageGraph stages;
        for (const char *device : {"cpu:0", "cpu:1", "node2/cpu:0", "node2/cpu:1", "node2/cpu:0"})
            stages.stages.push_back({device, {}});
        auto layout = plan::layoutStages(plan, stages, {{"localhost", 4}, {"node2", 1}});
        QVERIFY2(layout.ok(), layout.ok() ? "" : layout.error().message.c_str());
        QCOMPARE(layout->stageRank, (std::vector<int>{0, 1, 2, 2, 2}));
        QCOMPARE(layout->rankHost, (std::vector<std::string>{"localhost", "localhost", "node2"}));
        QCOMPARE(layout->stageLocalDevice[3], std::string("cpu:1"));
        QVERIFY(QString::fromStdString(layout->describeRank(2)).contains("stage 2 on node2/cpu:0"));
        auto missing = plan::layoutStages(plan, stages, {{"localhost", 4}});
        QVERIFY(!missing.ok());
        QVERIFY(QString::fromStdString(missing.error().message).contains("node2"));
        auto remoteFirst = plan::layoutStages(plan, stages, {{"node2", 4}, {"localhost", 1}});
        QVERIFY(!remoteFirst.ok());
        QVERIFY(QString::fromStdString(remoteFirst.error().message).contains("rank 0"));
    }

    void probeAndDevicesOverMpi()
    {
        const QString worker = QFileInfo(SB_CLI_PATH).absolutePath() + "/shardbench-worker";
        QProcess probe;
        probe.start(worker, {"--probe", "--cpu-devices", "2"});
        QVERIFY(probe.waitForFinished(30000));
        const auto doc = nlohmann::json::parse(probe.readAllStandardOutput().toStdString());
        QCOMPARE(doc["probe"]["devices"].size(), std::size_t(2));
        QCOMPARE(doc["probe"]["devices"][0]["id"], "cpu:0");
        Cli devices = runCli({"devices", "--hosts", "localhost:2", "--json"});
        QVERIFY2(devices.exitCode == 0, qPrintable(devices.err));
        const auto listed = nlohmann::json::parse(devices.out.toStdString());
        QVERIFY2(listed.contains("hosts"), qPrintable(devices.out));
        QCOMPARE(listed["hosts"].size(), std::size_t(1)); // one host, probed once
        QCOMPARE(listed["hosts"][0]["host"], "localhost");
        QCOMPARE(listed["hosts"][0]["devices"][0]["id"], "localhost/cpu:0");
    }
};

QTEST_GUILESS_MAIN(TestMpi)
#include "test_mpi.moc"
