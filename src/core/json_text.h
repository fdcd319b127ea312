#pragma once
// JSON text read elsewhere than from a file (a policy document's text, a fuzzer's input), parsed
// as load_json_file (config.h) parses a file.
#include <nlohmann/json.hpp>
#include <string>

namespace flotilla {

// A syntax error is a UserError naming `file`, line and column.
nlohmann::json parse_json_text(const std::string& text, const std::string& file);

}  // namespace flotilla
