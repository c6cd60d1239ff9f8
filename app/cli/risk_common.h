// Shared by the robustness, poisoning, privacy and quality commands: storing a report
// as evidence (an evaluation of kind "robustness", "poisoning" or "privacy"
// that core/governance/evidence.h reads) and the progress line on a terminal.
#pragma once

#include "app/cli/args.h"

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/poisoning.h"

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

namespace sb::cli {

// Saves `report` in the database at `db` (one transaction through the
// evaluation repository), attached to the registered version of `modelFile`
// when given and registered (a note on stderr otherwise). Prints the stored id
// on stderr.
Status storeRiskReport(const std::string &db, const std::string &modelFile, const std::string &kind,
                       const std::string &source, const nlohmann::json &report);

// "\r<what>: NN%" on stderr when it is a terminal and `quiet` is false.
ProgressFn terminalProgress(const std::string &what, bool quiet);

// The poisoning screen's options (shared by `poisoning` and `quality --train`):
// --features, --feature-prefix, --proba-prefix, --k, --min-disagreement,
// --near-distance, --outlier-z; the label comes from --label.
void addPoisoningOptions(ArgSpec &spec);
Result<eval::PoisoningOptions> poisoningOptionsFromArgs(const ParsedArgs &parsed);
// The screen's summary and its first `maxRows` rows as text.
void printPoisoningText(std::ostream &out, const nlohmann::json &report, int maxRows);

} // namespace sb::cli
