#pragma once
// Reading the files users name, and finding the data `make install` puts beside the programs.
#include <optional>
#include <string>
#include <string_view>

namespace flotilla {

// The whole file; UserError(path, "", ...) when it is missing, a folder or unreadable. `what`
// names what was expected, e.g. "a trace file".
std::string read_text_file(const std::string& path, std::string_view what);

// The data folder of an installed Flotilla: ../share/flotilla from the running program's folder
// (bin/), when that folder exists. A copied or DESTDIR-installed tree finds its own data; a build
// tree has none. Paths inside files fall back to it (resolve_relative_path(), core/config.h).
std::optional<std::string> installed_data_dir();

}  // namespace flotilla
