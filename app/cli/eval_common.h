// Helpers shared by the eval and predict commands and the evaluation demo step.
#pragma once

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

// The human-readable summary `eval` prints without --json.
void printEvalSummary(std::ostream &out, const nlohmann::json &report);

} // namespace sb::cli
