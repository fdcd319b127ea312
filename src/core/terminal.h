#pragma once
// What may be written to a stream beyond plain text: ANSI colour and cursor control.
//
// Colour only on a terminal, and never when NO_COLOR (https://no-color.org) is set to anything
// non-empty or TERM is "dumb". Cursor control (rewriting a progress line with "\r\033[K") only on
// a terminal whose TERM is not "dumb"; NO_COLOR is about colour and does not turn it off.
// Everything else (a pipe, a file) gets plain text, so logs and `grep` see no escape codes.
// Reads the environment on each call; call from any thread.
#include <string>
#include <string_view>

namespace flotilla {

// The rule, given what the process knows: `no_color` and `term` are the variables' values, or
// nullptr when unset.
bool colour_allowed(bool is_terminal, const char* no_color, const char* term);
bool cursor_control_allowed(bool is_terminal, const char* term);

// The rule for the stream on file descriptor `fd` (STDOUT_FILENO, STDERR_FILENO) in this process.
bool colour_allowed(int fd);
bool cursor_control_allowed(int fd);

enum class Colour { red, green, yellow };

// `text` between the colour's SGR code and the reset code when `enabled`, else `text` as it is.
std::string paint(std::string_view text, Colour colour, bool enabled);

}  // namespace flotilla
