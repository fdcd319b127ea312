#include "core/terminal.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace flotilla {

namespace {

bool dumb(const char* term) { return term != nullptr && std::strcmp(term, "dumb") == 0; }

}  // namespace

bool colour_allowed(bool is_terminal, const char* no_color, const char* term) {
  const bool no_colour_asked = no_color != nullptr && no_color[0] != '\0';
  return cursor_control_allowed(is_terminal, term) && !no_colour_asked;
}

bool cursor_control_allowed(bool is_terminal, const char* term) {
  return is_terminal && !dumb(term);
}

bool colour_allowed(int fd) {
  return colour_allowed(::isatty(fd) == 1, std::getenv("NO_COLOR"), std::getenv("TERM"));
}

bool cursor_control_allowed(int fd) {
  return cursor_control_allowed(::isatty(fd) == 1, std::getenv("TERM"));
}

std::string paint(std::string_view text, Colour colour, bool enabled) {
  if (!enabled) return std::string(text);
  const char* code = "";
  switch (colour) {
    case Colour::red:
      code = "\033[31m";
      break;
    case Colour::green:
      code = "\033[32m";
      break;
    case Colour::yellow:
      code = "\033[33m";
      break;
  }
  return code + std::string(text) + "\033[0m";
}

}  // namespace flotilla
