#include "core/errors.h"

namespace flotilla {

namespace {
std::string compose(const std::string& file, const std::string& pointer,
                    const std::string& expected) {
  std::string message = file.empty() ? std::string("input") : file;
  message += ": ";
  if (!pointer.empty()) message += pointer + ": ";
  message += "expected " + expected;
  return message;
}
}  // namespace

UserError::UserError(std::string file, std::string pointer, std::string expected)
    : std::runtime_error(compose(file, pointer, expected)),
      file_(std::move(file)),
      pointer_(std::move(pointer)),
      expected_(std::move(expected)) {}

UserError::UserError(std::string message) : std::runtime_error(std::move(message)) {}

}  // namespace flotilla
