#include "core/data_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace flotilla {

namespace fs = std::filesystem;

std::string read_text_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UserError(path, "", std::string(what) + ", got a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const bool exists = fs::exists(path, ec);
    throw UserError(path, "", exists ? "a readable file" : "an existing file (not found)");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UserError(path, "", "a readable file");
  return buffer.str();
}

std::optional<std::string> installed_data_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  const fs::path data = (self.parent_path() / ".." / "share" / "flotilla").lexically_normal();
  if (!fs::is_directory(data, ec)) return std::nullopt;
  return data.string();
}

}  // namespace flotilla
