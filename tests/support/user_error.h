#pragma once
// Test support: what a UserError said, for tables of user mistakes.
#include <string>

#include "core/errors.h"

namespace flotilla::test {

struct UserErrorOutcome {
  std::string file;
  std::string pointer = "<no error>";  // when nothing was thrown
  std::string expected;
};

// Calls `f`; the UserError it threw, if any.
template <class F>
UserErrorOutcome user_error_of(F&& f) {
  try {
    f();
  } catch (const UserError& e) {
    return {e.file(), e.pointer(), e.expected()};
  }
  return {};
}

}  // namespace flotilla::test
