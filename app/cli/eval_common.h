// Helpers shared by the eval and predict commands and the evaluation demo step.
#pragma once

#include "app/cli/args.h"

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/evaluation.h"

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>
#include <vector>

namespace sb::cli {

// "a, b,c" -> {"a", "b", "c"}; "" -> {}.
std::vector<std::string> splitList(const std::string &text);

// A JSON number with `precision` decimals, "n/a" for anything else.
std::string formatJsonNumber(const nlohmann::json &value, int precision = 4);

// Prints "shardbench-cli COMMAND: gate failed: EXPR (value V)" on stderr for
// each failed gate; returns the exit code (0, or 3 when any failed).
int reportGates(const std::string &command, const std::vector<eval::GateResult> &gates);

// Writes `json` (indented) to `path`; Io error naming the file.
Status writeJsonFile(const std::string &path, const nlohmann::json &json);

// --progress (eval, drift, quality) and --memory-limit SIZE (drift, quality:
// eval's streamed path keeps every score, 8 bytes a row, for exact AUC).
void addStreamingOptions(ArgSpec &spec, bool memoryLimit);
// The --memory-limit value in bytes (default eval::defaultMemoryLimit()).
Result<std::size_t> memoryLimitFromArgs(const ParsedArgs &parsed);
// A progress line on stderr ("\r<what>: NN% <message>, R rows/s, ETA Ts")
// when stderr is a terminal (and --json is not given) or --progress is;
// empty otherwise. The rate is taken from "<N> rows" in the message.
ProgressFn evaluationProgress(const std::string &what, const ParsedArgs &parsed);

// The human-readable summary `eval` prints without --json.
void printEvalSummary(std::ostream &out, const nlohmann::json &report);

} // namespace sb::cli
