#include "core/rng.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace agentsched {

namespace {
std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

Rng::Rng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& s : s_) {
    x += 0x9e3779b97f4a7c15ULL;
    s = mix64(x);
  }
}

std::uint64_t Rng::next_u64() {  // xoshiro256**
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

double Rng::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

std::int64_t Rng::uniform_int(std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) return lo;
  const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(next_u64() % span);
}

double Rng::normal() {
  // Box-Muller; one value per call keeps the stream simple to reason about.
  double u1 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double Rng::exponential(double mean) {
  double u = uniform();
  if (u < 1e-300) u = 1e-300;
  return -mean * std::log(u);
}

Rng Rng::derive(std::uint64_t seed, std::uint64_t label) {
  return Rng(hash_combine(mix64(seed), label));
}

QuantileSampler::QuantileSampler(std::vector<std::pair<double, double>> points) {
  if (points.size() < 2) throw std::invalid_argument("quantile sampler needs two points");
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto [p, v] = points[i];
    if (!(p >= 0.0 && p <= 1.0) || !(v > 0.0))
      throw std::invalid_argument("quantile points need p in [0,1] and value > 0");
    if (i > 0 && (p <= points[i - 1].first || v < points[i - 1].second))
      throw std::invalid_argument("quantile points must increase");
    points_.emplace_back(p, std::log(v));
  }
}

double QuantileSampler::quantile(double p) const {
  if (p <= points_.front().first) return std::exp(points_.front().second);
  if (p >= points_.back().first) return std::exp(points_.back().second);
  auto it = std::upper_bound(points_.begin(), points_.end(), p,
                             [](double x, const auto& pt) { return x < pt.first; });
  const auto& [p1, l1] = *it;
  const auto& [p0, l0] = *(it - 1);
  const double f = (p - p0) / (p1 - p0);
  return std::exp(l0 + f * (l1 - l0));
}

double QuantileSampler::sample(Rng& rng) const {
  const double lo = points_.front().first, hi = points_.back().first;
  return quantile(lo + (hi - lo) * rng.uniform());
}

}  // namespace agentsched
