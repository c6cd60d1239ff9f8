// Data quality of a CSV file, streamed chunk by chunk (files larger than
// memory work: per-column state is O(distinct values), per-row state is one
// 64-bit hash (two with a label) for duplicate and conflict counting).
//
// Per column: type, missing count/share (empty or NaN), unique non-missing
// values, constant (unique <= 1), min/max/mean (numerical; min/max as ISO
// text for datetime), PII kinds with the share of non-missing values that
// match (kinds below QualityOptions::piiMinShare are not reported), and the
// reader's diagnostic for a bad column (empty, all-NaN, mixed types) -- a bad
// column never aborts the report.
// Unique counts are exact up to QualityOptions::exactUniqueLimit distinct
// values per column (250 000 by default: the exact set then stays small
// enough for the cache, which keeps 10M-row files fast), then a HyperLogLog
// estimate (2^16 registers, ~0.4% standard error) flagged by
// uniqueApproximate ("unique_approximate": true in JSON).
// Rows: duplicate rows (rows minus distinct full rows), class balance of the
// label, label conflicts (rows whose features also occur with another label).
// Rows are compared through 64-bit hashes of their typed values (a number and
// the same number written differently are equal; collisions are negligible:
// ~n^2/2^65).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sb::eval {

struct QualityOptions
{
    std::string label;                      // label column ("" = none)
    double piiMinShare = 0.05;              // report a PII kind when at least this share matches
    std::size_t exactUniqueLimit = 250'000; // exact set stays cache-sized (4 MiB)
    CsvOptions csv;                         // delimiter, type overrides, threads
    // Row hashes (16 bytes per row) beyond this budget are partitioned into
    // temporary files; 0 = defaultMemoryLimit().
    std::size_t memoryLimit = 0;
};

struct PiiFinding
{
    std::string kind; // piiKindName()
    std::size_t matches = 0;
    double share = 0.0; // of non-missing values
};

struct ColumnQuality
{
    std::string name;
    std::string type; // numerical / categorical / datetime
    std::size_t missing = 0;
    double missingShare = 0.0;
    std::size_t unique = 0;
    bool uniqueApproximate = false;
    bool constant = false;
    std::optional<double> min, max, mean; // numerical
    std::string minText, maxText;         // datetime, ISO 8601
    std::vector<PiiFinding> pii;
    std::string diagnostic; // "" or the reader's message for a bad column
    std::string diagnosticKind;
};

struct ClassCount
{
    std::string label;
    std::size_t count = 0;
    double share = 0.0;
};

struct QualityReport
{
    std::string fileName;
    std::size_t rows = 0;
    std::vector<ColumnQuality> columns;
    std::size_t duplicateRows = 0;
    bool hasLabel = false;
    std::vector<ClassCount> classBalance; // sorted by label text
    std::size_t labelConflictGroups = 0;  // feature vectors seen with > 1 label
    std::size_t labelConflictRows = 0;    // rows in those groups
};

Result<QualityReport> analyzeQuality(const std::filesystem::path &path,
                                     const QualityOptions &options = {},
                                     const CancelToken *cancel = nullptr,
                                     const ProgressFn &progress = {});

struct LeakageReport
{
    std::size_t trainRows = 0;
    std::size_t testRows = 0;
    std::size_t testRowsInTrain = 0;
    double share = 0.0;               // testRowsInTrain / testRows
    std::vector<std::string> columns; // the feature columns compared
};

// Rows of `test` whose feature values (columns present in both files, label
// excluded) also occur in `train`.
Result<LeakageReport> findLeakage(const std::filesystem::path &train,
                                  const std::filesystem::path &test,
                                  const QualityOptions &options = {},
                                  const CancelToken *cancel = nullptr);

} // namespace sb::eval
