// CSV input for evaluation, drift and quality (RFC 4180).
//
// Two layers, both streamed so files larger than memory work:
//
//  1. CsvReader: raw fields. Yields batches of rows (about `batchBytes` of
//     input each) as string_views into a buffer the reader owns; a batch is
//     valid until the next call to next(). Quoted fields are already
//     unescaped ("" -> "), so field() is the logical value.
//
//       SB_ASSIGN_OR_RETURN(auto reader, CsvReader::open("data.csv"));
//       CsvBatch batch;
//       while (true) {
//           SB_ASSIGN_OR_RETURN(bool more, reader.next(batch));
//           if (!more) break;
//           for (size_t r = 0; r < batch.rows; ++r) use(batch.field(r, 3), batch.line(r));
//       }
//
//  2. TypedCsvReader / readCsv: typed columns. Column types are inferred from
//     the first batch (numerical / categorical / datetime), overridable by
//     name (CsvOptions::categorical, ::datetime). Each next() yields a Table
//     chunk; readCsv() concatenates all chunks into one Table.
//
// Grammar (RFC 4180 plus the usual extensions):
//  - first row is the header; a UTF-8 BOM before it is skipped;
//  - rows end in LF or CRLF; blank lines are skipped;
//  - a field starting with a quote is quoted: it may hold delimiters, CR/LF
//    and doubled quotes; after the closing quote only a delimiter or the row
//    end may follow;
//  - a quote inside an unquoted field is an error (it would make the row
//    boundaries ambiguous, and ambiguous data should not be guessed at);
//  - every row must have as many fields as the header.
// Errors are ErrorCode::InvalidInput with a message
//   "<file>:<line>: column '<name>': <what>"   (field-level problems)
//   "<file>:<line>: <what>"                    (row-level problems)
// where <line> is the 1-based physical line on which the row or field starts.
//
// Values: an empty field is missing. Numbers are parsed with std::from_chars
// (surrounding blanks and a leading '+' allowed); "nan", "inf", "-inf",
// "infinity" (any case) are numbers: NaN counts as missing for a numerical
// column, +-inf is kept as a value. Datetimes are ISO 8601 dates
// (YYYY-MM-DD) or date-times (YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|+HH:MM|-HH:MM]),
// stored as seconds since 1970-01-01T00:00:00Z (no offset = UTC).
//
// Problems with a column's values are diagnostics, never aborts: a column
// that is entirely empty, entirely NaN, mixes numbers with text, or holds
// values its (overridden) type cannot parse gets a ColumnDiagnostic and the
// unparseable values become missing.
//
// Parsing is parallel within a batch: the quote parity of each slice of the
// buffer is counted on its own thread, then each thread parses whole rows
// from the first row boundary in its slice. The typed layer converts on the
// same threads, a run of about a thousand rows at a time right after
// splitting it (fields and text still in cache); each slice's new categories
// are then given their codes in row order, so codes follow first appearance
// in the file as with one thread.
//
// Implementation: csv.cpp (row splitting, CsvReader), csv_typed.cpp (type
// inference, typed columns, readCsv), csv_values.cpp (value parsers and
// formatters); csv_detail.h holds what they share and is private.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sb::eval {

struct CsvOptions
{
    char delimiter = ',';
    std::size_t batchBytes = std::size_t(32) << 20; // input bytes per batch (grown for huge rows)
    unsigned threads = 0;                           // 0: std::thread::hardware_concurrency()
    // Typed layer only:
    std::vector<std::string> categorical; // force these columns categorical
    std::vector<std::string> datetime;    // force these columns datetime
    std::vector<std::string> columns;     // convert only these (empty: all); unknown name = error
    // readCsv only: keep the values of these columns (empty: all); the other
    // columns are still converted, for their diagnostics, but left out of the
    // Table (names not in the file are ignored).
    std::vector<std::string> keep;
    bool rowLines = true; // readCsv only: fill Table::lines (8 bytes per row)
};

// One parsed field: offset and length in the batch buffer.
struct CsvFieldRef
{
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
};

// A batch of rows from CsvReader. Row r, column c is field(r, c).
struct CsvBatch
{
    std::size_t rows = 0;
    std::size_t columns = 0;
    const char *data = nullptr;       // owned by the reader
    std::vector<CsvFieldRef> fields;  // rows * columns, row-major
    std::vector<std::uint64_t> lines; // physical line where each row starts (1-based)

    std::string_view field(std::size_t row, std::size_t column) const
    {
        const CsvFieldRef &f = fields[row * columns + column];
        return {data + f.offset, f.length};
    }
    std::uint64_t line(std::size_t row) const { return lines[row]; }
};

class CsvReader
{
public:
    // Opens the file and parses the header. Errors: NotFound/Io, InvalidInput
    // (empty file, duplicate or bad header).
    static Result<CsvReader> open(const std::filesystem::path &path,
                                  const CsvOptions &options = {});
    // Parses CSV held in memory (tests, small inputs); `name` is used in errors.
    static Result<CsvReader> fromString(std::string text, std::string name,
                                        const CsvOptions &options = {});

    CsvReader(CsvReader &&) noexcept;
    CsvReader &operator=(CsvReader &&) noexcept;
    ~CsvReader();

    const std::vector<std::string> &header() const;
    int columnIndex(std::string_view name) const; // -1 when absent
    const std::string &fileName() const;          // as used in error messages
    std::uint64_t fileSize() const;               // bytes (for progress)
    std::uint64_t bytesConsumed() const;          // input bytes handed out so far

    // Fills `batch` with the next rows. Returns false at end of input (batch
    // then has 0 rows). The previous batch's views become invalid.
    Result<bool> next(CsvBatch &batch);

private:
    friend class TypedCsvReader; // parses and converts a batch's rows in one pass
    struct Impl;
    explicit CsvReader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// ---- typed layer -------------------------------------------------------------

enum class ColumnType
{
    Numerical,
    Categorical,
    Datetime
};
const char *columnTypeName(ColumnType type); // "numerical", "categorical", "datetime"

struct ColumnDiagnostic
{
    std::string column;
    std::string kind;    // "empty", "all_nan", "mixed_types", "unparseable"
    std::string message; // names file, column and the first offending line
};

struct Column
{
    std::string name;
    ColumnType type = ColumnType::Numerical;
    // Numerical: the value, NaN = missing. Datetime: seconds since the epoch
    // (UTC), NaN = missing. Empty for categorical columns.
    std::vector<double> numbers;
    // Categorical: index into *categories, -1 = missing. Empty otherwise.
    std::vector<std::int32_t> codes;
    // Append-only dictionary shared by all chunks of one stream, in order of
    // first appearance.
    std::shared_ptr<std::vector<std::string>> categories;

    std::size_t size() const
    {
        return type == ColumnType::Categorical ? codes.size() : numbers.size();
    }
    bool isMissing(std::size_t row) const;
    // The value as text: categories verbatim, numbers in shortest round-trip
    // form, datetimes in ISO 8601; "" when missing.
    std::string text(std::size_t row) const;
};

struct Table
{
    std::string fileName;
    std::size_t rows = 0;
    std::vector<Column> columns;
    std::vector<std::uint64_t> lines; // physical line of each row (1-based)
    std::vector<ColumnDiagnostic> diagnostics;

    int columnIndex(std::string_view name) const; // -1 when absent
    const Column *column(std::string_view name) const;
};

class TypedCsvReader
{
public:
    // Opens the file, reads the first batch and infers column types from it.
    static Result<TypedCsvReader> open(const std::filesystem::path &path,
                                       const CsvOptions &options = {});
    static Result<TypedCsvReader> fromString(std::string text, std::string name,
                                             const CsvOptions &options = {});
    TypedCsvReader(TypedCsvReader &&) noexcept;
    TypedCsvReader &operator=(TypedCsvReader &&) noexcept;
    ~TypedCsvReader();

    // Name and type of every converted column, in file order.
    const std::vector<std::pair<std::string, ColumnType>> &schema() const;
    CsvReader &raw();

    // Next chunk (columns per schema(), diagnostics empty). False at the end.
    Result<bool> next(Table &chunk);
    // Per-column diagnostics over everything read so far (complete after the
    // last next()).
    std::vector<ColumnDiagnostic> diagnostics() const;

private:
    struct Impl;
    explicit TypedCsvReader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Reads a whole file into typed columns (diagnostics filled in).
Result<Table> readCsv(const std::filesystem::path &path, const CsvOptions &options = {},
                      const CancelToken *cancel = nullptr, const ProgressFn &progress = {});
Result<Table> readCsvString(std::string text, std::string name, const CsvOptions &options = {});

// Value parsers shared with other readers (exact same rules as above).
bool parseCsvNumber(std::string_view text, double &value);
bool parseIsoDatetime(std::string_view text, double &secondsSinceEpoch);
std::string formatIsoDatetime(double secondsSinceEpoch);
std::string formatNumber(double value); // shortest round-trip, "nan"/"inf"/"-inf"

} // namespace sb::eval
