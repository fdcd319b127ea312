#pragma once
// Test support: Debian's promtool (package prometheus) on a page of Prometheus text.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/files.h"
#include "support/subprocess.h"

namespace flotilla::test {

inline const std::string kPromtool = "/usr/bin/promtool";

// What `promtool check metrics` says of `page`: exit code 0 and no output on a clean page; its
// findings (one line each) and a non-zero exit otherwise. REQUIREs promtool to be installed.
inline ProcessResult promtool_check_metrics(const std::string& page) {
  REQUIRE_MESSAGE(std::filesystem::exists(kPromtool),
                  kPromtool << " is missing: install Debian's prometheus package (make test-deps)");
  const auto path = fresh_temp_dir("promtool") / "page.prom";
  std::ofstream(path) << page;
  // promtool reads the page on its standard input; Subprocess gives children /dev/null there.
  auto result =
      run_process({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", kPromtool, path.string()},
                  std::chrono::seconds(30));
  std::filesystem::remove_all(path.parent_path());
  return result;
}

}  // namespace flotilla::test
