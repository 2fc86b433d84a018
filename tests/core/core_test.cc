#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/clock.h"
#include "core/enum_names.h"
#include "core/result.h"
#include "core/rng.h"
#include "core/suggest.h"
#include "core/time_format.h"
#include "core/toml_parse.h"

namespace agentsched {
namespace {

TEST(VirtualClock, AdvancesOnlyForward) {
  VirtualClock clock;
  EXPECT_EQ(clock.now(), 0.0);
  clock.advance_to(5.0);
  clock.advance_to(3.0);
  EXPECT_EQ(clock.now(), 5.0);
}

TEST(VirtualClock, RunsWakeUpsInTimeOrderAsItAdvances) {
  VirtualClock clock;
  std::vector<std::pair<char, double>> woke;
  clock.wake_at(5, [&] { woke.push_back({'b', clock.now()}); });
  const auto cancelled = clock.wake_at(4, [&] { woke.push_back({'x', clock.now()}); });
  clock.wake_at(2, [&] {
    woke.push_back({'a', clock.now()});
    clock.wake_at(3, [&] { woke.push_back({'c', clock.now()}); });  // registered on the way
  });
  clock.cancel_wake(cancelled);
  EXPECT_EQ(clock.next_wake(), 2.0);
  clock.advance_to(10);
  EXPECT_EQ(woke, (std::vector<std::pair<char, double>>{{'a', 2}, {'c', 3}, {'b', 5}}));
  EXPECT_EQ(clock.now(), 10);
  EXPECT_FALSE(clock.next_wake());
  EXPECT_FALSE(clock.real_time_point(20));  // a manual clock: no real instant to wait for
}

TEST(ScaledClock, RejectsNonPositiveScale) {
  EXPECT_THROW(ScaledClock(0.0), std::invalid_argument);
  EXPECT_EQ(ScaledClock(20.0).to_real(40.0), 2.0);
}

TEST(Suggest, NearestNameForTyposAndAbbreviations) {
  EXPECT_EQ(edit_distance("sytem", "system"), 1u);
  EXPECT_EQ(edit_distance("smi", "sim"), 1u);  // a transposition is one edit
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  const std::vector<std::string> commands{"sim", "analyze", "experiment", "engine"};
  EXPECT_EQ(nearest_name("simm", commands), "sim");
  EXPECT_EQ(nearest_name("exp", commands), "experiment");
  EXPECT_EQ(nearest_name("e", commands), std::nullopt);  // prefix of two: no guess
  EXPECT_EQ(nearest_name("zzzzzz", commands), std::nullopt);
  EXPECT_EQ(did_you_mean("windw", {"window", "stuck"}), " (did you mean 'window'?)");
  EXPECT_EQ(did_you_mean("quux", {"window", "stuck"}), "");
}

TEST(Rng, SameSeedSameStream) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(Rng(7).next_u64(), c.next_u64());
}

TEST(Rng, UniformMeanAndRange) {
  Rng rng(1);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(QuantileSampler, HitsItsQuantiles) {
  QuantileSampler s({{0.0, 100}, {0.5, 1000}, {1.0, 10000}});
  EXPECT_NEAR(s.quantile(0.5), 1000, 1e-9);
  EXPECT_NEAR(s.quantile(0.25), std::sqrt(100.0 * 1000.0), 1e-6);
  Rng rng(3);
  int below = 0;
  for (int i = 0; i < 20000; ++i) below += s.sample(rng) < 1000;
  EXPECT_NEAR(below / 20000.0, 0.5, 0.02);
  EXPECT_THROW(QuantileSampler({{0.0, 5}, {0.5, 4}}), std::invalid_argument);
}

TEST(TimeFormat, FormatsAndParsesUtc) {
  EXPECT_EQ(format_datetime_ms(kVirtualEpochUnix + 1.2345), "2026-01-05 10:00:01.235");
  EXPECT_EQ(format_datetime(kVirtualEpochUnix + 59.9), "2026-01-05 10:00:59");
  EXPECT_EQ(format_iso8601(1767607962), "2026-01-05T10:12:42+00:00");
  auto t = parse_datetime("2026-01-05 10:12:42.500");
  ASSERT_TRUE(t.has_value());
  EXPECT_DOUBLE_EQ(*t, 1767607962.5);
  EXPECT_FALSE(parse_datetime("2026-13-05 10:12:42").has_value());
  EXPECT_FALSE(parse_datetime("garbage").has_value());
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2026, 1, 5) * 86400 + 10 * 3600, kVirtualEpochUnix);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
}

TEST(TomlParse, ErrorsNameOriginLineAndColumn) {
  auto good = parse_toml("a = 1\n[t]\nb = \"x\"\n", "good.toml");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ((*good)["a"].value<int>(), 1);
  EXPECT_EQ((*good)["t"]["b"].value<std::string>(), "x");
  auto bad = parse_toml("a = 1\nb = = 2\n", "bad.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("bad.toml:2:", 0), 0u) << bad.error().message;
}

TEST(Result, HoldsValueOrError) {
  Result<int> good = 3;
  Result<int> bad = make_error("boom");
  EXPECT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "boom");
}

enum class Fruit { kApple, kPear, kPlum, kFig };

TEST(EnumNames, NamesAndValuesBothWays) {
  constexpr EnumNames<Fruit, 3> names(
      {{Fruit::kApple, "apple"}, {Fruit::kPear, "pear"}, {Fruit::kPlum, "plum"}});
  static_assert(names.name(Fruit::kPear) == "pear");
  EXPECT_EQ(names.name(Fruit::kPlum), "plum");
  EXPECT_EQ(names.name(Fruit::kFig), "?");  // not in the table
  EXPECT_EQ(names.value("apple"), Fruit::kApple);
  EXPECT_EQ(names.value("Apple"), std::nullopt);
  EXPECT_EQ(names.list(), "apple, pear or plum");
  EXPECT_EQ((EnumNames<Fruit, 1>({{Fruit::kFig, "fig"}}).list()), "fig");
}

}  // namespace
}  // namespace agentsched
