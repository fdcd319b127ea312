#pragma once
// Errors a user can cause and fix: a bad file, a bad field, a bad flag, a port in use.
// They carry the file, the field as a JSON pointer (RFC 6901) and what was expected, and
// the CLI turns them into one message and exit code 2. Internal invariants are asserts.
#include <stdexcept>
#include <string>

namespace flotilla {

enum ExitCode : int { kExitOk = 0, kExitFailed = 1, kExitUsage = 2 };

class UserError : public std::runtime_error {
 public:
  // "FILE: /traffic/stages/2/target: expected a number >= 0, got \"abc\""
  UserError(std::string file, std::string pointer, std::string expected);
  // A message that is not about a file field (a flag, a port in use).
  explicit UserError(std::string message);

  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }
  const std::string& expected() const { return expected_; }

 private:
  std::string file_;
  std::string pointer_;
  std::string expected_;
};

}  // namespace flotilla
