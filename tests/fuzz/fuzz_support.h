#pragma once
// Shared by the fuzz targets (fuzz_main.cpp lists them): failing loudly, and holding a parser to
// its error contract.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <typeinfo>

#include "core/errors.h"

namespace flotilla::fuzz {

// The input that broke an invariant is saved by libFuzzer (-artifact_prefix) when this aborts.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

inline std::string text_of(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Whether `pointer` names a place in `doc`, or a member that `doc` lacks beside ones it has (an
// error about a missing field points at the field).
inline bool points_into(const nlohmann::json& doc, const std::string& pointer) {
  if (pointer.empty()) return true;
  nlohmann::json::json_pointer ptr;
  try {
    ptr = nlohmann::json::json_pointer(pointer);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return doc.contains(ptr) || doc.contains(ptr.parent_pointer());
}

// Runs `parse`. A UserError must say what was expected and name a file; when it names `file`,
// its pointer must lead into `doc` (when given). Any other exception is a defect: a bad input
// must always reach the user as a UserError. Returns whether `parse` succeeded.
template <class Parse>
bool user_errors_only(const std::string& file, const nlohmann::json* doc, Parse&& parse) {
  try {
    parse();
    return true;
  } catch (const UserError& e) {
    const std::string message = e.what();
    check(!message.empty(), "a UserError without a message");
    // UserError(message) is for flags and ports, never for a file's content.
    check(!e.file().empty() && !e.expected().empty(),
          "a UserError that names no file or says nothing expected: " + message);
    if (doc != nullptr && e.file() == file)
      check(points_into(*doc, e.pointer()),
            "a UserError whose pointer is not in the document: " + message);
    return false;
  } catch (const std::exception& e) {
    fail(std::string("a ") + typeid(e).name() + " escaped instead of a UserError: " + e.what());
  } catch (...) {
    fail("a non-standard exception escaped");
  }
}

}  // namespace flotilla::fuzz
