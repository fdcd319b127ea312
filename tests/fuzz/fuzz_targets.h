#pragma once
// The fuzz targets, one per parser that a user or a peer can feed. One binary holds them all
// (fuzz_main.cpp) and runs the one its name picks: build/tests/<target>_fuzzer links to it.
#include <cstddef>
#include <cstdint>

namespace flotilla::fuzz {

using Target = int (*)(const std::uint8_t* data, std::size_t size);

// http_fuzzers.cpp
int request(const std::uint8_t* data, std::size_t size);
int response(const std::uint8_t* data, std::size_t size);
// parser_fuzzers.cpp
int scenario(const std::uint8_t* data, std::size_t size);
int profile(const std::uint8_t* data, std::size_t size);
int policy(const std::uint8_t* data, std::size_t size);
int aws(const std::uint8_t* data, std::size_t size);
int hpa(const std::uint8_t* data, std::size_t size);
int balancer(const std::uint8_t* data, std::size_t size);
int trace(const std::uint8_t* data, std::size_t size);
int metric(const std::uint8_t* data, std::size_t size);
int cron(const std::uint8_t* data, std::size_t size);
int duration(const std::uint8_t* data, std::size_t size);
int admin(const std::uint8_t* data, std::size_t size);

}  // namespace flotilla::fuzz
