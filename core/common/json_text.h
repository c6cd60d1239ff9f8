// JSON as text without surprises: nlohmann's dump() throws on invalid UTF-8
// in a string (a CSV label, a file name, a column), which would escape the
// core API as an exception. Every JSON value the core, the GUI or the CLI
// turns into text goes through jsonText, which writes U+FFFD instead.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sb {

// `json` as text, indented as nlohmann's dump(indent) does (-1: one line).
[[nodiscard]] inline std::string jsonText(const nlohmann::json &json, int indent = -1)
{
    return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace sb
