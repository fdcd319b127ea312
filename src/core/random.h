#pragma once
// Random: the one source of randomness, seeded so that runs are reproducible.
// Threading: an instance is used by one thread; give each thread its own (see split()).
#include <cstdint>
#include <memory>

namespace flotilla {

// splitmix64's step and finaliser: a stateless hash of x, for draws that must not depend on the
// order they are made in (the n-th request's choice, the n-th worker's seed).
std::uint64_t mix64(std::uint64_t x);

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next_u64() = 0;

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, bound); bound > 0.
  std::uint64_t below(std::uint64_t bound);
  double exponential(double mean);
  double standard_normal();
  // Lognormal with the given parameters of the underlying normal.
  double lognormal(double mu, double sigma);
};

// xoshiro256** seeded through splitmix64: fast, small, good enough for simulation.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed);
  std::uint64_t next_u64() override;
  // An independent stream derived from this one (for another thread or component).
  SeededRandom split();

 private:
  std::uint64_t s_[4];
};

}  // namespace flotilla
