// Test-only JSON Schema validator for the draft-07 subset the Model Card
// Toolkit schema uses: type, properties, required, items, enum, oneOf,
// $ref into definitions ("#/definitions/x", also the toolkit's "#definitions/x"),
// additionalProperties (boolean). format/description/content* are ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sb::test {

// Returns the violations ("$.model_details.version.name: expected string"); empty = valid.
std::vector<std::string> validateJsonSchema(const nlohmann::json &schema,
                                            const nlohmann::json &instance);

} // namespace sb::test
