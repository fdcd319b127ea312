#include "core/random.h"

#include <cmath>

namespace flotilla {

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  const std::uint64_t z = mix64(x);
  x += 0x9e3779b97f4a7c15ULL;
  return z;
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

std::uint64_t Random::below(std::uint64_t bound) {
  // Lemire's multiply-shift; the tiny bias is irrelevant for simulation.
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next_u64()) * bound) >> 64);
}

double Random::exponential(double mean) { return -mean * std::log1p(-uniform()); }

double Random::standard_normal() {
  // Box-Muller; one of the pair is discarded to keep the generator stateless.
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double Random::lognormal(double mu, double sigma) {
  return std::exp(mu + sigma * standard_normal());
}

SeededRandom::SeededRandom(std::uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

std::uint64_t SeededRandom::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

SeededRandom SeededRandom::split() { return SeededRandom(next_u64() ^ 0x6a09e667f3bcc909ULL); }

}  // namespace flotilla
