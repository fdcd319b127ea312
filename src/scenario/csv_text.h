#pragma once
// Reading the small CSV files flotilla reads back (traces, timeseries.csv): lines, fields and
// numbers, with errors that name the file and the line ("x.csv: line 7: expected ...").
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::csv {

// Without leading and trailing spaces, tabs and carriage returns.
std::string_view trim(std::string_view s);
// The text as the file has it, quoted and cut short like ConfigNode's "got" values.
std::string quoted(std::string_view s);
// A finite number written in full (no trailing characters); nullopt otherwise.
std::optional<double> parse_number(std::string_view text);
// The comma-separated fields of a line, each trimmed (no quoting: flotilla's files need none).
std::vector<std::string_view> split_fields(std::string_view line);

// Calls `on_line(number, content)` for every line that is not blank, content trimmed; line
// numbers count from 1 and include blank lines; "\r\n" line ends and a UTF-8 byte order mark are
// accepted. Returns the number of the last line.
std::size_t for_each_line(std::string_view text,
                          const std::function<void(std::size_t, std::string_view)>& on_line);

// Throws UserError(file, "line N", expected).
class LineError {
 public:
  LineError(const std::string& file, std::size_t line) : file_(file), line_(line) {}
  [[noreturn]] void fail(const std::string& expected) const;

 private:
  const std::string& file_;
  std::size_t line_;
};

}  // namespace flotilla::csv
