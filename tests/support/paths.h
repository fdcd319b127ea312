#pragma once
// Where the tests find the built binaries and the repository's own files.
#include <filesystem>
#include <string>

namespace flotilla::test {

inline const std::string kFlotilla = std::string(FLOTILLA_BIN_DIR) + "/flotilla";
inline const std::filesystem::path kSource = FLOTILLA_SOURCE_DIR;

}  // namespace flotilla::test
