// The entry points libFuzzer calls. The target is picked once, from the name the binary was
// started under ("scenario_fuzzer" runs scenario) or FLOTILLA_FUZZ_TARGET; libFuzzer's own
// child processes (-fork, -jobs) start under the same name, so they run the same target.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz/fuzz_targets.h"

namespace {

struct Named {
  const char* name;
  flotilla::fuzz::Target run;
};

constexpr Named kTargets[] = {
    {"request", flotilla::fuzz::request},   {"response", flotilla::fuzz::response},
    {"scenario", flotilla::fuzz::scenario}, {"profile", flotilla::fuzz::profile},
    {"policy", flotilla::fuzz::policy},     {"aws", flotilla::fuzz::aws},
    {"hpa", flotilla::fuzz::hpa},           {"balancer", flotilla::fuzz::balancer},
    {"trace", flotilla::fuzz::trace},       {"metric", flotilla::fuzz::metric},
    {"cron", flotilla::fuzz::cron},         {"duration", flotilla::fuzz::duration},
    {"admin", flotilla::fuzz::admin},
};

flotilla::fuzz::Target chosen = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  std::string name;
  if (const char* env = std::getenv("FLOTILLA_FUZZ_TARGET"); env != nullptr && *env != '\0') {
    name = env;
  } else if (*argc > 0) {
    name = (*argv)[0];
    if (const auto slash = name.rfind('/'); slash != std::string::npos) name.erase(0, slash + 1);
    if (name.ends_with("_fuzzer")) name.resize(name.size() - 7);
  }
  for (const Named& t : kTargets)
    if (name == t.name) chosen = t.run;
  if (chosen == nullptr) {
    std::fprintf(stderr,
                 "no fuzz target \"%s\"; run this binary as <target>_fuzzer or set "
                 "FLOTILLA_FUZZ_TARGET to one of:",
                 name.c_str());
    for (const Named& t : kTargets) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return chosen(data, size);
}
