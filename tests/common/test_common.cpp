// Result type, SHA-256 (FIPS 180-2 test vectors) and the CLI argument parser.
#include "app/cli/args.h"
#include "core/common/result.h"
#include "core/common/sha256.h"

#include <QtTest>

using namespace sb;

class TestCommon : public QObject
{
    Q_OBJECT

private slots:
    void resultCarriesValueOrError()
    {
        Result<int> good = 42;
        QVERIFY(good.ok());
        QCOMPARE(*good, 42);
        Result<int> bad = makeError(ErrorCode::InvalidInput, "model.onnx: truncated");
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, ErrorCode::InvalidInput);
        QCOMPARE(QString::fromStdString(bad.error().withContext("import").message),
                 QString("import: model.onnx: truncated"));
    }

    void tryMacroPropagates()
    {
        auto inner = [](bool fail) -> Result<int> {
            if (fail)
                return makeError(ErrorCode::NotFound, "x");
            return 1;
        };
        auto outer = [&](bool fail) -> Result<int> {
            SB_ASSIGN_OR_RETURN(int v, inner(fail));
            return v + 1;
        };
        QCOMPARE(*outer(false), 2);
        QCOMPARE(outer(true).error().code, ErrorCode::NotFound);
    }

    void sha256_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("digest");
        QTest::newRow("empty")
            << QByteArray() << "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        QTest::newRow("abc") << QByteArray("abc")
                             << "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        QTest::newRow("two-blocks")
            << QByteArray("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            << "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    }
    void sha256()
    {
        QFETCH(QByteArray, input);
        QFETCH(QString, digest);
        QCOMPARE(QString::fromStdString(sha256Hex({input.constData(), size_t(input.size())})),
                 digest);
    }

    void argsParseOptionsFlagsAndPositionals()
    {
        cli::ArgSpec spec("x MODEL", "test");
        spec.positional("MODEL", "model").option("batch", "N", "batch").multi("dim", "D", "dims");
        spec.flag("json", "json");
        cli::Args args{"x", {"m.onnx", "--batch", "4", "--dim", "a=1", "--dim=b=2", "--json"}};
        auto parsed = spec.parse(args);
        QVERIFY(parsed.ok);
        QCOMPARE(parsed.positional.size(), size_t(1));
        QCOMPARE(*parsed.getInt("batch", 1), 4LL);
        QCOMPARE(parsed.all("dim").size(), size_t(2));
        QCOMPARE(QString::fromStdString(parsed.all("dim")[1]), QString("b=2"));
        QVERIFY(parsed.flag("json"));
    }

    void argsRequiredOptionIsAUsageError()
    {
        cli::ArgSpec spec("x", "test");
        spec.option("env", "ENV", "environment").required("env");
        auto missing = spec.parse(cli::Args{"x", {}});
        QVERIFY(!missing.ok);
        QCOMPARE(missing.exitCode, 2);
        QVERIFY(spec.help().find("(required)") != std::string::npos);
        auto given = spec.parse(cli::Args{"x", {"--env", "prod"}});
        QVERIFY(given.ok);
        QCOMPARE(QString::fromStdString(given.get("env")), QString("prod"));
    }

    void argsRejectUnknownOptionWithExit2()
    {
        cli::ArgSpec spec("x", "test");
        auto parsed = spec.parse(cli::Args{"x", {"--nope"}});
        QVERIFY(!parsed.ok);
        QCOMPARE(parsed.exitCode, 2);
        auto bad = cli::ArgSpec("x", "t").option("n", "N", "n").parse(cli::Args{"x", {"--n", "z"}});
        QVERIFY(bad.ok);
        QVERIFY(!bad.getInt("n", 0).ok());
    }
};

QTEST_GUILESS_MAIN(TestCommon)
#include "test_common.moc"
