// CSV reader: RFC 4180 corner cases, error messages (file:line: column),
// type inference and per-column diagnostics, batch boundaries and threads.
#include "core/eval/csv.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>

using namespace sb;
using namespace sb::eval;

namespace {

// All rows of a CSV text as strings, read with the given batch size/threads.
Result<std::vector<std::vector<std::string>>>
readAllFields(const std::string &text, std::size_t batchBytes = 1 << 20, unsigned threads = 1)
{
    CsvOptions options;
    options.batchBytes = batchBytes;
    options.threads = threads;
    SB_ASSIGN_OR_RETURN(CsvReader reader, CsvReader::fromString(text, "t.csv", options));
    std::vector<std::vector<std::string>> rows;
    rows.push_back(reader.header());
    CsvBatch batch;
    while (true) {
        SB_ASSIGN_OR_RETURN(bool more, reader.next(batch));
        if (!more)
            break;
        for (std::size_t r = 0; r < batch.rows; ++r) {
            std::vector<std::string> row;
            for (std::size_t c = 0; c < batch.columns; ++c)
                row.emplace_back(batch.field(r, c));
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

QString joined(const std::vector<std::vector<std::string>> &rows)
{
    QStringList out;
    for (const auto &row : rows) {
        QStringList cells;
        for (const auto &cell : row)
            cells << QString::fromStdString(cell);
        out << cells.join("|");
    }
    return out.join("\n");
}

} // namespace

class TestCsv : public QObject
{
    Q_OBJECT

private slots:
    void rfc4180_data()
    {
        QTest::addColumn<QByteArray>("csv");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain") << QByteArray("a,b\n1,2\n3,4\n") << "a|b\n1|2\n3|4";
        QTest::newRow("no final newline") << QByteArray("a,b\n1,2\n3,4") << "a|b\n1|2\n3|4";
        QTest::newRow("crlf") << QByteArray("a,b\r\n1,2\r\n3,4\r\n") << "a|b\n1|2\n3|4";
        QTest::newRow("quoted comma") << QByteArray("a,b\n\"x,y\",2\n") << "a|b\nx,y|2";
        QTest::newRow("doubled quote")
            << QByteArray("a,b\n\"say \"\"hi\"\"\",2\n") << "a|b\nsay \"hi\"|2";
        QTest::newRow("embedded newline")
            << QByteArray("a,b\n\"line1\nline2\",2\n") << "a|b\nline1\nline2|2";
        QTest::newRow("embedded crlf kept")
            << QByteArray("a,b\r\n\"l1\r\nl2\",2\r\n") << "a|b\nl1\r\nl2|2";
        QTest::newRow("empty fields") << QByteArray("a,b,c\n,,\n1,,3\n") << "a|b|c\n||\n1||3";
        QTest::newRow("empty quoted") << QByteArray("a,b\n\"\",x\n") << "a|b\n|x";
        QTest::newRow("bom") << QByteArray("\xEF\xBB\xBF"
                                           "a,b\n1,2\n")
                             << "a|b\n1|2";
        QTest::newRow("blank lines skipped")
            << QByteArray("a,b\n\n1,2\r\n\r\n3,4\n\n") << "a|b\n1|2\n3|4";
        QTest::newRow("quoted header") << QByteArray("\"a,1\",b\n1,2\n") << "a,1|b\n1|2";
        QTest::newRow("only quotes") << QByteArray("a\n\"\"\"\"\n") << "a\n\"";
        QTest::newRow("trailing cr in last field no lf") << QByteArray("a,b\n1,2\r") << "a|b\n1|2";
        QTest::newRow("header only") << QByteArray("a,b\n") << "a|b";
    }

    void rfc4180()
    {
        QFETCH(QByteArray, csv);
        QFETCH(QString, expected);
        // Same result for every batch size (row boundaries cut anywhere) and thread count.
        for (std::size_t batch : {std::size_t(16), std::size_t(17), std::size_t(1) << 20}) {
            for (unsigned threads : {1u, 2u}) {
                auto rows = readAllFields(csv.toStdString(), batch, threads);
                QVERIFY2(rows.ok(), rows.ok() ? "" : rows.error().message.c_str());
                QCOMPARE(joined(*rows), expected);
            }
        }
    }

    void errors_data()
    {
        QTest::addColumn<QByteArray>("csv");
        QTest::addColumn<QString>("message");
        QTest::newRow("unterminated") << QByteArray("id,age\n1,2\n2,\"3\n4,5\n")
                                      << "t.csv:3: column 'age': unterminated quoted field";
        QTest::newRow("too few fields")
            << QByteArray("a,b,c\n1,2,3\n4,5\n") << "t.csv:3: row has 2 fields, the header has 3";
        QTest::newRow("too many fields") << QByteArray("a,b\n1,2\n\"x\ny\",2\n1,2,3\n")
                                         << "t.csv:5: row has 3 fields, the header has 2";
        QTest::newRow("text after closing quote")
            << QByteArray("a,b\n1,\"x\"y\n")
            << "t.csv:2: column 'b': unexpected character 'y' after the closing quote";
        QTest::newRow("stray quote")
            << QByteArray("a,b\n1,2\n3,ab\"c\n")
            << "t.csv:3: column 'b': quote inside an unquoted field (quote the whole field "
               "and double the quote)";
        QTest::newRow("duplicate header")
            << QByteArray("a,b,a\n1,2,3\n") << "t.csv:1: duplicate column 'a' in the header";
        QTest::newRow("empty file") << QByteArray("") << "t.csv: empty file (no header row)";
    }

    void errors()
    {
        QFETCH(QByteArray, csv);
        QFETCH(QString, message);
        for (std::size_t batch : {std::size_t(16), std::size_t(1) << 20}) {
            auto rows = readAllFields(csv.toStdString(), batch, 2);
            QVERIFY(!rows.ok());
            QCOMPARE(rows.error().code, ErrorCode::InvalidInput);
            QCOMPARE(QString::fromStdString(rows.error().message), message);
        }
    }

    void lineNumbersCountQuotedNewlines()
    {
        auto reader = CsvReader::fromString("a,b\n\"x\ny\nz\",1\n\n2,3\n", "t.csv");
        QVERIFY(reader.ok());
        CsvBatch batch;
        auto more = reader->next(batch);
        QVERIFY(more.ok() && *more);
        QCOMPARE(batch.rows, std::size_t(2));
        QCOMPARE(batch.line(0), std::uint64_t(2));
        QCOMPARE(batch.line(1), std::uint64_t(6));
    }

    void missingFile()
    {
        auto reader = CsvReader::open("/nonexistent/x.csv");
        QVERIFY(!reader.ok());
        QCOMPARE(reader.error().code, ErrorCode::NotFound);
        QVERIFY(QString::fromStdString(reader.error().message).contains("/nonexistent/x.csv"));
    }

    void numbers_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<double>("value");
        QTest::newRow("int") << "42" << true << 42.0;
        QTest::newRow("neg") << "-3.5" << true << -3.5;
        QTest::newRow("plus") << "+2" << true << 2.0;
        QTest::newRow("exp") << "1e-3" << true << 1e-3;
        QTest::newRow("blanks") << " 7 " << true << 7.0;
        QTest::newRow("leading dot") << ".5" << true << 0.5;
        QTest::newRow("inf") << "inf" << true << std::numeric_limits<double>::infinity();
        QTest::newRow("-Infinity")
            << "-Infinity" << true << -std::numeric_limits<double>::infinity();
        QTest::newRow("text") << "abc" << false << 0.0;
        QTest::newRow("trailing junk") << "1.5x" << false << 0.0;
        QTest::newRow("plus minus") << "+-1" << false << 0.0;
        QTest::newRow("date") << "2024-01-02" << false << 0.0;
    }

    void numbers()
    {
        QFETCH(QString, text);
        QFETCH(bool, ok);
        QFETCH(double, value);
        double v = 0;
        QCOMPARE(parseCsvNumber(text.toStdString(), v), ok);
        if (ok)
            QCOMPARE(v, value);
    }

    void plainDecimalsMatchStrtod()
    {
        // The fast path for plain decimals must give the very double strtod
        // gives (correct rounding), for every digit count around its limits.
        std::mt19937_64 rng(7);
        const char *fixed[] = {"0",
                               "-0",
                               "0.1",
                               "0.3",
                               "1.",
                               "-.5",
                               "9007199254740993",
                               "9007199254740992",
                               "1234567890123456789",
                               "0.0000000000000000000001",
                               "123456.1234567890123",
                               "00000000000000000001.5"};
        std::vector<std::string> texts(std::begin(fixed), std::end(fixed));
        for (int i = 0; i < 200000; ++i) {
            std::string t = rng() % 4 == 0 ? "-" : "";
            const int intDigits = static_cast<int>(rng() % 12),
                      fracDigits = static_cast<int>(rng() % 14);
            for (int d = 0; d < intDigits; ++d)
                t += static_cast<char>('0' + rng() % 10);
            if (fracDigits > 0 || intDigits == 0) {
                t += '.';
                for (int d = 0; d < std::max(fracDigits, 1); ++d)
                    t += static_cast<char>('0' + rng() % 10);
            }
            texts.push_back(t);
        }
        for (const std::string &t : texts) {
            double got = 0;
            QVERIFY2(parseCsvNumber(t, got), t.c_str());
            const double want = std::strtod(t.c_str(), nullptr);
            QVERIFY2(std::memcmp(&got, &want, sizeof got) == 0, t.c_str());
        }
        // The typed reader's own fast path (eight digits at a time, reading
        // past the field into the buffer's padding) gives the same doubles,
        // also for the file's last field without a final LF.
        std::string csv = "x,y\n";
        for (std::size_t i = 0; i < texts.size(); ++i)
            csv.append(texts[i]).append(",").append(texts[texts.size() - 1 - i]).append("\n");
        csv.pop_back();
        CsvOptions small;
        small.batchBytes = 1 << 20; // several batches: the first converted apart, the others fused
        auto table = readCsvString(csv, "numbers.csv", small);
        QVERIFY2(table.ok(), table.ok() ? "" : table.error().message.c_str());
        QCOMPARE(table->rows, texts.size());
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const double want = std::strtod(texts[i].c_str(), nullptr);
            const double got = table->column("x")->numbers[i];
            QVERIFY2(std::memcmp(&got, &want, sizeof got) == 0, texts[i].c_str());
            const double wantY = std::strtod(texts[texts.size() - 1 - i].c_str(), nullptr);
            const double gotY = table->column("y")->numbers[i];
            QVERIFY2(std::memcmp(&gotY, &wantY, sizeof gotY) == 0,
                     texts[texts.size() - 1 - i].c_str());
        }
    }

    void nanIsNumber()
    {
        double v = 0;
        QVERIFY(parseCsvNumber("NaN", v));
        QVERIFY(std::isnan(v));
    }

    void datetimes_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<double>("seconds");
        QTest::newRow("epoch") << "1970-01-01" << true << 0.0;
        QTest::newRow("date") << "2024-02-29" << true << 1709164800.0;
        QTest::newRow("datetime") << "2024-02-29T12:30:15" << true << 1709209815.0;
        QTest::newRow("space") << "2024-02-29 12:30" << true << 1709209800.0;
        QTest::newRow("zulu frac") << "2024-02-29T12:30:15.25Z" << true << 1709209815.25;
        QTest::newRow("offset") << "2024-02-29T12:30:15+02:00" << true << 1709202615.0;
        QTest::newRow("not leap") << "2023-02-29" << false << 0.0;
        QTest::newRow("bad month") << "2024-13-01" << false << 0.0;
        QTest::newRow("junk") << "2024-01-01x" << false << 0.0;
    }

    void datetimes()
    {
        QFETCH(QString, text);
        QFETCH(bool, ok);
        QFETCH(double, seconds);
        double v = 0;
        QCOMPARE(parseIsoDatetime(text.toStdString(), v), ok);
        if (ok) {
            QCOMPARE(v, seconds);
            double back = 0;
            QVERIFY(parseIsoDatetime(formatIsoDatetime(v), back));
            QCOMPARE(back, v);
        }
    }

    void typeInferenceAndOverrides()
    {
        const std::string csv = "num,cat,when,code,flag\n"
                                "1.5,red,2024-01-01,7,1\n"
                                ",blue,2024-01-02T10:00:00,8,0\n"
                                "-inf,red,,9,1\n";
        auto table = readCsvString(csv, "t.csv");
        QVERIFY(table.ok());
        QCOMPARE(table->rows, std::size_t(3));
        QCOMPARE(table->column("num")->type, ColumnType::Numerical);
        QCOMPARE(table->column("cat")->type, ColumnType::Categorical);
        QCOMPARE(table->column("when")->type, ColumnType::Datetime);
        QCOMPARE(table->column("code")->type, ColumnType::Numerical);
        QVERIFY(table->column("num")->isMissing(1));
        QVERIFY(std::isinf(table->column("num")->numbers[2]));
        QCOMPARE(table->column("cat")->text(2), std::string("red"));
        QCOMPARE(table->column("cat")->codes[0], table->column("cat")->codes[2]);
        QVERIFY(table->column("when")->isMissing(2));
        QVERIFY(table->diagnostics.empty());

        CsvOptions options;
        options.categorical = {"code"};
        options.columns = {"code", "when"};
        auto forced = readCsvString(csv, "t.csv", options);
        QVERIFY(forced.ok());
        QCOMPARE(forced->columns.size(), std::size_t(2));
        QCOMPARE(forced->column("code")->type, ColumnType::Categorical);
        QCOMPARE(forced->column("code")->text(1), std::string("8"));

        options = {};
        options.datetime = {"nope"};
        auto bad = readCsvString(csv, "t.csv", options);
        QVERIFY(!bad.ok());
        QVERIFY(QString::fromStdString(bad.error().message).contains("'nope'"));
    }

    void badColumnsGiveDiagnostics()
    {
        // Bad columns do not abort: each one gets a diagnostic and the rest is read.
        const std::string csv = "good,empty,allnan,mixed,late\n"
                                "1,,nan,1,5\n"
                                "2,,NaN,abc,6\n"
                                "3,,,2,7\n";
        CsvOptions options;
        options.batchBytes = 40; // the first batch holds the header and row 1 only
        auto table = readCsvString(csv + "4,,nan,3,oops\n", "t.csv", options);
        QVERIFY2(table.ok(), table.ok() ? "" : table.error().message.c_str());
        QCOMPARE(table->rows, std::size_t(4));
        std::map<std::string, ColumnDiagnostic> byColumn;
        for (const auto &d : table->diagnostics)
            byColumn[d.column] = d;
        QCOMPARE(byColumn.size(), std::size_t(4));
        QCOMPARE(byColumn["empty"].kind, std::string("empty"));
        QCOMPARE(byColumn["empty"].message,
                 std::string("t.csv: column 'empty': all 4 values are empty"));
        QCOMPARE(byColumn["allnan"].kind, std::string("all_nan"));
        // 'mixed' looked numerical in the first batch: text later is flagged with its line.
        QCOMPARE(byColumn["mixed"].kind, std::string("mixed_types"));
        QVERIFY(QString::fromStdString(byColumn["mixed"].message).contains("'abc' on line 3"));
        QCOMPARE(byColumn["late"].kind, std::string("mixed_types"));
        QVERIFY(QString::fromStdString(byColumn["late"].message).contains("'oops' on line 5"));
        QCOMPARE(table->column("good")->numbers[3], 4.0);

        // Mixed values inside the first batch: read as categorical, flagged.
        auto whole = readCsvString(csv, "t.csv");
        QVERIFY(whole.ok());
        QCOMPARE(whole->column("mixed")->type, ColumnType::Categorical);
        bool flagged = false;
        for (const auto &d : whole->diagnostics)
            flagged |= d.column == "mixed" && d.kind == "mixed_types";
        QVERIFY(flagged);
    }

    void parallelMatchesSerialOnLargeInput()
    {
        // ~3 MB with quoted fields holding delimiters/newlines: the parallel
        // split must find the same rows as one thread.
        std::string csv = "id,text,x\n";
        for (int i = 0; i < 60000; ++i) {
            const std::string number = std::to_string(i);
            csv.append(number).append(",");
            if (i % 7 == 0)
                csv.append("\"q,\n\"\"").append(number).append("\"\"\"");
            else
                csv.append("plain").append(number);
            csv.append(",").append(std::to_string(i * 0.25)).append(i % 3 ? "\n" : "\r\n");
        }
        CsvOptions serial;
        serial.threads = 1;
        CsvOptions parallel;
        parallel.threads = 4;
        parallel.batchBytes = 1500000;
        auto a = readCsvString(csv, "big.csv", serial);
        auto b = readCsvString(csv, "big.csv", parallel);
        QVERIFY(a.ok() && b.ok());
        QCOMPARE(a->rows, std::size_t(60000));
        QCOMPARE(b->rows, a->rows);
        QCOMPARE(b->lines, a->lines);
        QCOMPARE(b->column("x")->numbers, a->column("x")->numbers);
        for (std::size_t r = 0; r < a->rows; r += 997)
            QCOMPARE(b->column("text")->text(r), a->column("text")->text(r));
        QCOMPARE(a->column("text")->text(7), std::string("q,\n\"7\""));
        QCOMPARE(a->lines[8], std::uint64_t(12)); // header line 1; rows 0 and 7 span two lines
    }
};

QTEST_GUILESS_MAIN(TestCsv)
#include "test_csv.moc"
