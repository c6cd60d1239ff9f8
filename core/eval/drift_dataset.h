// Drift of a whole current CSV against a reference CSV, and drift per window
// over time (or over consecutive rows) of the current data.
//
// Columns tested: the ones present in both files (or DriftDatasetOptions::
// columns), except datetime columns and the window column. A column that
// cannot be tested (empty after dropping NaN/inf, types differ between the
// files, a method that does not fit) gets DriftColumnResult::error and is left
// out of the dataset share; it never aborts the report.
//
// Windows (DriftDatasetOptions::window):
//   "N"            consecutive windows of N rows of the current data, in order
//                  of the window column (stable; file order without a column)
//   "N<unit>"      time windows of N units (s, m, h, d, w) over the window
//                  column parsed as ISO 8601 datetime, aligned to the start of
//                  the unit (UTC) of the earliest timestamp; [start, end);
//                  rows with a missing timestamp are left out; empty windows
//                  are skipped.
// Each window is tested against the whole reference with the same method
// choice rules (per window: sizes and unique counts of that window).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/eval/drift.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::eval {

struct DriftDatasetOptions
{
    std::vector<std::string> columns;           // empty: all shared columns
    std::map<std::string, DriftMethod> methods; // per column ("*" = every column)
    std::map<std::string, double> thresholds;   // per column ("*" = every column)
    double datasetShare = 0.5;                  // dataset drift when share >= this
    std::string windowColumn;
    std::string window; // "" = no windows
    CsvOptions csv;
    // Without windows the files are streamed: per column only its finite
    // values (counts per value while a numerical column has few distinct
    // values, counts per category) are kept; when those of all columns would
    // not fit this many bytes, the files are read once per group of columns
    // that does. 0 = defaultMemoryLimit().
    std::size_t memoryLimit = 0;
};

struct DriftWindow
{
    std::string start; // ISO 8601 (time windows) or first row index (row windows)
    std::string end;   // exclusive
    bool timeWindow = false;
    std::size_t rows = 0;
    DriftSummary summary;
    std::vector<DriftColumnResult> columns;
};

struct DriftReport
{
    std::string referenceFile, currentFile;
    std::size_t referenceRows = 0, currentRows = 0;
    std::vector<DriftColumnResult> columns;
    DriftSummary summary;
    std::string windowKind; // "", "rows" or "time"
    std::vector<DriftWindow> windows;
    std::vector<ColumnDiagnostic> diagnostics; // from both readers
};

// Parses "7d", "12h", "1000"...: seconds (time) or rows. InvalidInput otherwise.
struct WindowSpec
{
    bool time = false;
    long long rows = 0;
    double seconds = 0.0;
    double alignSeconds = 1.0; // unit length used to align the first window
};
Result<WindowSpec> parseWindowSpec(const std::string &text);

Result<DriftReport> runDrift(const Table &reference, const Table &current,
                             const DriftDatasetOptions &options,
                             const CancelToken *cancel = nullptr);
Result<DriftReport> runDrift(const std::filesystem::path &reference,
                             const std::filesystem::path &current,
                             const DriftDatasetOptions &options,
                             const CancelToken *cancel = nullptr, const ProgressFn &progress = {});

} // namespace sb::eval
