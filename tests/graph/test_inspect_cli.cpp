// `shardbench-cli inspect`: the public JSON interface and exit codes.
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace {

struct CliRun
{
    int exitCode = -1;
    QByteArray out, err;
};

CliRun runCli(const QStringList &args)
{
    QProcess process;
    process.start(QStringLiteral(SB_CLI_PATH), args);
    CliRun run;
    if (!process.waitForFinished(60000)) {
        process.kill();
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2;
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}

QString fixture(const char *name)
{
    return QStringLiteral(SB_TESTDATA_DIR) + "/models/" + name;
}

} // namespace

class TestInspectCli : public QObject
{
    Q_OBJECT

private slots:
    void jsonHasThePublicKeys()
    {
        if (!QFile::exists(fixture("bert_tiny.onnx")))
            QSKIP("fixture bert_tiny.onnx absent");
        auto run = runCli(
            {"inspect", fixture("bert_tiny.onnx"), "--batch", "2", "--dim", "seq=16", "--json"});
        QCOMPARE(run.exitCode, 0);
        auto json = nlohmann::json::parse(run.out.toStdString()); // exactly one object
        QVERIFY(json.is_object());
        for (const char *key :
             {"inputs", "outputs", "node_count", "op_counts", "param_count", "param_bytes", "flops",
              "blocks", "producer", "ir_version", "opsets", "batch_symbolic"})
            QVERIFY2(json.contains(key), key);
        QCOMPARE(json["inputs"].size(), std::size_t{2});
        for (const auto &input : json["inputs"]) {
            QVERIFY(input.contains("name") && input.contains("dtype") && input.contains("shape"));
            QCOMPARE(input["dtype"].get<std::string>(), std::string("int64"));
            QCOMPARE(input["shape"], nlohmann::json::parse(R"(["batch","seq"])"));
        }
        QCOMPARE(json["param_count"].get<std::uint64_t>(), std::uint64_t{172480});
        QCOMPARE(json["param_bytes"].get<std::uint64_t>(), std::uint64_t{172480 * 4});
        QVERIFY(json["flops"].get<double>() > 6569984.0); // at least the matrix products
        QVERIFY(json["flops_exact"].get<bool>());
        QCOMPARE(json["bindings"]["seq"].get<int>(), 16);
        QCOMPARE(json["bindings"]["batch"].get<int>(), 2);
        QVERIFY(json["batch_symbolic"].get<bool>());
        std::size_t nodes = 0, total = 0;
        for (const auto &[op, count] : json["op_counts"].items())
            total += count.get<std::size_t>();
        QCOMPARE(total, json["node_count"].get<std::size_t>());
        double blockFlops = 0;
        for (const auto &block : json["blocks"]) {
            for (const char *key : {"name", "nodes", "flops", "param_bytes", "activation_bytes"})
                QVERIFY2(block.contains(key), key);
            nodes += block["nodes"].get<std::size_t>();
            blockFlops += block["flops"].get<double>();
        }
        QCOMPARE(nodes, json["node_count"].get<std::size_t>());
        QCOMPARE(blockFlops, json["flops"].get<double>());
        bool layered = false;
        for (const auto &block : json["blocks"])
            layered =
                layered || block["name"].get<std::string>().find("/layer.1") != std::string::npos;
        QVERIFY2(layered, "BERT layers should be blocks");
    }

    void humanSummary()
    {
        if (!QFile::exists(fixture("resnet_tiny.onnx")))
            QSKIP("fixture resnet_tiny.onnx absent");
        auto run = runCli({"inspect", fixture("resnet_tiny.onnx")});
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.out.contains("producer:"));
        QVERIFY(run.out.contains("78722 parameters"));
        QVERIFY(run.out.contains("Conv"));
        QVERIFY(run.out.contains("blocks:"));
    }

    void badInputExitsTwo_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("corrupt file")
            << QStringList{"inspect", "@corrupt", "--json"} << "corrupt.onnx";
        QTest::newRow("missing file") << QStringList{"inspect", "/nonexistent/m.onnx"} << "m.onnx";
        QTest::newRow("bad dim") << QStringList{"inspect", "@good", "--dim", "seq"} << "seq";
        QTest::newRow("bad batch") << QStringList{"inspect", "@good", "--batch", "0"} << "batch";
        QTest::newRow("no model") << QStringList{"inspect"} << "MODEL";
    }

    void badInputExitsTwo()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        const QString corrupt = dir.path() + "/corrupt.onnx";
        {
            std::ofstream out(corrupt.toStdString(), std::ios::binary);
            out << "\x08\x07\x12\x05hello\x3a\xff\xff\xff\x0f garbage";
        }
        for (auto &a : args) {
            if (a == "@corrupt")
                a = corrupt;
            if (a == "@good")
                a = fixture("mlp.onnx");
        }
        auto run = runCli(args);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(mentions.toUtf8()), run.err.constData());
        QVERIFY(run.out.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestInspectCli)
#include "test_inspect_cli.moc"
