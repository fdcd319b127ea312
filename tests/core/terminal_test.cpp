#include "core/terminal.h"

#include <doctest/doctest.h>
#include <pty.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

using flotilla::Colour;

TEST_CASE("colour_allowed and cursor_control_allowed: terminal, NO_COLOR and TERM") {
  struct Row {
    bool terminal;
    const char* no_color;  // nullptr: unset
    const char* term;      // nullptr: unset
    bool colour;
    bool cursor;
  };
  const Row rows[] = {
      {true, nullptr, "xterm-256color", true, true},
      {true, nullptr, nullptr, true, true},   // no TERM at all is not a dumb terminal
      {true, "", "xterm", true, true},        // set but empty: colour stays (no-color.org)
      {true, "1", "xterm", false, true},      // NO_COLOR is about colour, not the cursor
      {true, "0", "xterm", false, true},      // any non-empty value, even "0"
      {true, nullptr, "dumb", false, false},  // a dumb terminal has neither
      {true, "1", "dumb", false, false},
      {true, nullptr, "dumber", true, true},    // only "dumb" itself
      {false, nullptr, "xterm", false, false},  // a pipe or a file: plain text
      {false, "", nullptr, false, false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.terminal);
    CAPTURE(row.no_color ? row.no_color : "(unset)");
    CAPTURE(row.term ? row.term : "(unset)");
    CHECK(flotilla::colour_allowed(row.terminal, row.no_color, row.term) == row.colour);
    CHECK(flotilla::cursor_control_allowed(row.terminal, row.term) == row.cursor);
  }
}

namespace {

// Sets an environment variable for one scope and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("colour_allowed(fd): a pseudo-terminal yes unless NO_COLOR, a pipe never") {
  int controller = -1, terminal = -1;
  REQUIRE(::openpty(&controller, &terminal, nullptr, nullptr, nullptr) == 0);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  {
    ScopedEnv term("TERM", "xterm");
    ScopedEnv no_color("NO_COLOR", nullptr);
    CHECK(flotilla::colour_allowed(terminal));
    CHECK(flotilla::cursor_control_allowed(terminal));
    CHECK_FALSE(flotilla::colour_allowed(pipe_fds[1]));
    CHECK_FALSE(flotilla::cursor_control_allowed(pipe_fds[1]));
  }
  {
    ScopedEnv term("TERM", "xterm");
    ScopedEnv no_color("NO_COLOR", "1");
    CHECK_FALSE(flotilla::colour_allowed(terminal));
    CHECK(flotilla::cursor_control_allowed(terminal));
  }
  {
    ScopedEnv term("TERM", "dumb");
    ScopedEnv no_color("NO_COLOR", nullptr);
    CHECK_FALSE(flotilla::colour_allowed(terminal));
    CHECK_FALSE(flotilla::cursor_control_allowed(terminal));
  }
  for (int fd : {controller, terminal, pipe_fds[0], pipe_fds[1]}) ::close(fd);
}

TEST_CASE("paint: SGR code, text and reset when enabled, the text alone when not") {
  struct Row {
    Colour colour;
    bool enabled;
    const char* want;
  };
  const Row rows[] = {
      {Colour::green, true, "\033[32mPASS\033[0m"},
      {Colour::red, true, "\033[31mPASS\033[0m"},
      {Colour::yellow, true, "\033[33mPASS\033[0m"},
      {Colour::green, false, "PASS"},
      {Colour::red, false, "PASS"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.want);
    CHECK(flotilla::paint("PASS", row.colour, row.enabled) == row.want);
  }
  CHECK(flotilla::paint("", Colour::red, false).empty());
}
