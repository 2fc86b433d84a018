// Numbers in agentsched's JSON: plain decimals that read back as the same double, where
// Boost.JSON writes "2.7941723483E2" and "0E0".
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "analysis/report_json.h"

namespace agentsched::analysis {
namespace {

TEST(ReportJson, CompactWritesPlainDecimalsThatReadBack) {
  const boost::json::object o{
      {"now_s", 279.41723483}, {"total_held_s", 0.0},  {"tiny", 4.031999999999734e-06},
      {"big", 1e20},           {"negative", -0.00012}, {"count", 3},
      {"name", "a\"b"}};
  const std::string text = compact_json(o);
  EXPECT_EQ(text, R"({"now_s":279.41723483,"total_held_s":0.0,"tiny":0.000004031999999999734,)"
                  R"("big":100000000000000000000.0,"negative":-0.00012,"count":3,"name":"a\"b"})");
  const boost::json::value back = boost::json::parse(text);
  EXPECT_EQ(back.at("tiny").as_double(), 4.031999999999734e-06);
  EXPECT_EQ(back.at("negative").as_double(), -0.00012);
  EXPECT_EQ(back.at("big").as_double(), 1e20);
  // Beyond 30 zeros the exponent stays (still valid JSON), and what JSON cannot hold is null.
  EXPECT_EQ(compact_json(boost::json::value(1e-300)), "1e-300");
  EXPECT_EQ(compact_json(boost::json::array{std::nan("")}), "[null]");
}

}  // namespace
}  // namespace agentsched::analysis
