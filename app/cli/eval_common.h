// Helpers shared by the eval and predict commands and the evaluation demo step.
#pragma once

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>
#include <vector>

namespace sb::cli {

// "a, b,c" -> {"a", "b", "c"}; "" -> {}.
std::vector<std::string> splitList(const std::string &text);

// The human-readable summary `eval` prints without --json.
void printEvalSummary(std::ostream &out, const nlohmann::json &report);

} // namespace sb::cli
