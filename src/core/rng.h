#pragma once
// Seeded random numbers with our own distributions, so that a seed gives the same stream on
// every platform and standard library (std:: distributions are implementation-defined).
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace agentsched {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi].
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);
  bool bernoulli(double p) { return uniform() < p; }
  double normal();
  double exponential(double mean);
  // Independent stream derived from this seed and a label (e.g. a program index).
  static Rng derive(std::uint64_t seed, std::uint64_t label);

 private:
  std::uint64_t s_[4];
};

// Inverse-CDF sampler through given quantile points, interpolated linearly in log space, so
// a distribution can be matched to published percentiles (p10, p50, ..., max) including a
// heavy tail. Points are (cumulative probability, value > 0), increasing in both.
class QuantileSampler {
 public:
  QuantileSampler() = default;
  explicit QuantileSampler(std::vector<std::pair<double, double>> points);
  double sample(Rng& rng) const;
  double quantile(double p) const;

 private:
  std::vector<std::pair<double, double>> points_;  // (p, log value)
};

// 64-bit mixing used for content hashes (prefix-cache block ids).
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline std::uint64_t hash_combine(std::uint64_t seed, std::uint64_t value) {
  return mix64(seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

}  // namespace agentsched
