// Result type, SHA-256 (FIPS 180-2 test vectors), the one percentile and run
// summary (against NumPy's values) and the CLI argument parser.
#include "app/cli/args.h"
#include "core/common/json_text.h"
#include "core/common/result.h"
#include "core/common/sha256.h"
#include "core/common/stats.h"
#include "core/runtime/run_summary.h"

#include <QtTest>

using namespace sb;

Q_DECLARE_METATYPE(std::vector<double>)

class TestCommon : public QObject
{
    Q_OBJECT

private slots:
    // A string with invalid UTF-8 (a CSV label, a file name) becomes U+FFFD
    // instead of nlohmann's type_error 316 escaping as an exception.
    void jsonTextReplacesInvalidUtf8()
    {
        const nlohmann::json doc{{"label", std::string("caf\xe9")}, {"n", 3}};
        QVERIFY_THROWS_EXCEPTION(nlohmann::json::type_error, (void)doc.dump());
        const std::string text = sb::jsonText(doc);
        QCOMPARE(text, std::string("{\"label\":\"caf\xef\xbf\xbd\",\"n\":3}"));
        QCOMPARE(sb::jsonText(nlohmann::json{{"a", 1}}, 1), std::string("{\n \"a\": 1\n}"));
    }

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

    void percentileMatchesNumpy_data()
    {
        QTest::addColumn<std::vector<double>>("samples");
        QTest::addColumn<double>("p");
        QTest::addColumn<double>("expected");
        // numpy.percentile(samples, p) (NumPy 1.24, method="linear").
        const std::vector<double> seven{12.5, 3.0, 7.25, 9.0, 1.5, 20.0, 4.75};
        QTest::newRow("p0") << seven << 0.0 << 1.5;
        QTest::newRow("p10") << seven << 10.0 << 2.4000000000000004;
        QTest::newRow("p50") << seven << 50.0 << 7.25;
        QTest::newRow("p90") << seven << 90.0 << 15.500000000000004;
        QTest::newRow("p95") << seven << 95.0 << 17.749999999999993;
        QTest::newRow("p99") << seven << 99.0 << 19.549999999999997;
        QTest::newRow("p100") << seven << 100.0 << 20.0;
        QTest::newRow("two, p50") << std::vector<double>{1.0, 2.0} << 50.0 << 1.5;
        QTest::newRow("two, p90") << std::vector<double>{1.0, 2.0} << 90.0 << 1.9;
        QTest::newRow("one") << std::vector<double>{4.0} << 99.0 << 4.0;
        QTest::newRow("none") << std::vector<double>{} << 50.0 << 0.0;
    }

    void percentileMatchesNumpy()
    {
        QFETCH(std::vector<double>, samples);
        QFETCH(double, p);
        QFETCH(double, expected);
        QVERIFY2(std::abs(percentile(samples, p) - expected) <= 1e-12 * std::max(1.0, expected),
                 qPrintable(QString::number(percentile(samples, p), 'g', 17)));
    }

    void runSummaryDefinitions()
    {
        // Batch 8, three timed iterations of 100, 200 and 100 ms: 24 samples
        // in 0.4 s; latencies are the micro-batches' when given.
        const runtime::RunSummary s = runtime::summarizeRuns(8, {100, 200, 100}, {10, 20, 30, 40});
        QCOMPARE(s.iterations, 3);
        QCOMPARE(s.totalMs, 400.0);
        QCOMPARE(s.throughput, 60.0);
        QCOMPARE(s.iterationMedianMs, 100.0);
        QCOMPARE(s.iterationMinMs, 100.0);
        QVERIFY(std::abs(s.iterationMeanMs - 400.0 / 3) < 1e-12);
        QVERIFY(std::abs(s.iterationP90Ms - 180.0) < 1e-12);
        QCOMPARE(s.latencyP50Ms, 25.0);
        QVERIFY(std::abs(s.latencyP90Ms - 37.0) < 1e-12);
        // Without micro-batch latencies an iteration is the latency.
        const runtime::RunSummary whole = runtime::summarizeRuns(2, {5, 7});
        QCOMPARE(whole.latencyP50Ms, 6.0);
        QCOMPARE(runtime::summarizeRuns(2, {}).throughput, 0.0);
        // (p-1)/(M+p-1): 3 stages, 8 micro-batches -> 2/10.
        QCOMPARE(runtime::idealBubbleFraction(3, 8), 0.2);
        QCOMPARE(runtime::idealBubbleFraction(1, 4), 0.0);
        // Measured bubble: idle 6 + 2 of 2 stages x 10 ms.
        QCOMPARE(runtime::bubbleFraction({4, 8}, 10), 0.4);
        QCOMPARE(runtime::bubbleFraction({}, 10), 0.0);

        // `bench`'s keys: wall_ms is the total the throughput divides by,
        // and every iteration and latency figure lies within it.
        const nlohmann::json bench = runtime::iterationSummaryJson(s);
        QCOMPARE(bench.at("wall_ms").get<double>(), 400.0);
        QCOMPARE(bench.at("median_ms").get<double>(), 100.0);
        QCOMPARE(bench.at("min_ms").get<double>(), 100.0);
        QCOMPARE(bench.at("iters").get<int>(), 3);
        QCOMPARE(bench.at("batch").get<int>(), 8);
        QCOMPARE(bench.at("throughput").get<double>(),
                 8.0 * 3 / (bench.at("wall_ms").get<double>() / 1000));
        QVERIFY(bench.at("min_ms").get<double>() <= bench.at("median_ms").get<double>());
        QVERIFY(bench.at("median_ms").get<double>() <= bench.at("p90_ms").get<double>());
        QVERIFY(bench.at("p90_ms").get<double>() <= bench.at("wall_ms").get<double>());
        QVERIFY(s.latencyP99Ms <= s.totalMs);
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
