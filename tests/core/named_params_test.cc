#include "core/named_params.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace agentsched {
namespace {

struct ToyParams {
  double rate = 0.5;
  double slots = 4;
  double mode = 0;
  double low = 1;
  double high = 2;

  static const ParamTable<ToyParams> table;
};

Status toy_relations(const ToyParams& p) {
  if (p.high < p.low) return make_error("toy parameter 'high' must be >= low");
  return Ok{};
}

constexpr ParamField<ToyParams> kToyFields[] = {
    {"rate", &ToyParams::rate, ParamRange::above(0).at_most(1), "a share"},
    {"slots", &ToyParams::slots, ParamRange::whole_numbers(1, 32), "a count"},
    {"mode", &ToyParams::mode, ParamRange::whole_numbers(0, 2), "a choice"},
    {"low", &ToyParams::low, ParamRange::at_least(0), "a lower bound"},
    {"high", &ToyParams::high, {}, "an upper bound"},
};

const ParamTable<ToyParams> ToyParams::table = {"toy", kToyFields, toy_relations};

std::string error_of(const NamedParams& given) {
  auto p = parse_params<ToyParams>("policy", given);
  return p ? "" : p.error().message;
}

TEST(ParamRange, AllowsItsValuesOnly) {
  EXPECT_TRUE(ParamRange::at_least(0).allows(0));
  EXPECT_FALSE(ParamRange::at_least(0).allows(-0.5));
  EXPECT_FALSE(ParamRange::above(0).allows(0));
  EXPECT_TRUE(ParamRange::above(0).allows(1e-9));
  EXPECT_TRUE(ParamRange::within(0, 1).allows(1));
  EXPECT_FALSE(ParamRange::within(0, 1).allows(1.01));
  EXPECT_TRUE(ParamRange::whole_numbers(1).allows(1e6));
  EXPECT_FALSE(ParamRange::whole_numbers(1).allows(1.5));
  EXPECT_FALSE(ParamRange::whole_numbers(1, 32).allows(33));
  EXPECT_TRUE(ParamRange{}.allows(-1e300));
}

TEST(ParamRange, SaysWhatItAllows) {
  EXPECT_EQ(ParamRange::at_least(0).text(), ">= 0");
  EXPECT_EQ(ParamRange::above(0).text(), "> 0");
  EXPECT_EQ(ParamRange::at_least(1.5).text(), ">= 1.5");
  EXPECT_EQ(ParamRange::within(0, 1).text(), "in [0, 1]");
  EXPECT_EQ(ParamRange::above(0).at_most(1).text(), "in (0, 1]");
  EXPECT_EQ(ParamRange::whole_numbers(1).text(), "a whole number >= 1");
  EXPECT_EQ(ParamRange::whole_numbers(1, 1e6).text(), "a whole number from 1 to 1000000");
  EXPECT_EQ(ParamRange::whole_numbers(0, 1).text(), "0 or 1");
  EXPECT_EQ(ParamRange::whole_numbers(0, 2).text(), "0, 1 or 2");
  EXPECT_EQ(ParamRange{}.text(), "a finite number");
}

TEST(ParseParams, AppliesValuesInRangeOverTheDefaults) {
  auto p = parse_params<ToyParams>("policy", {{"rate", 1}, {"slots", 32}, {"mode", 2}});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->rate, 1);
  EXPECT_EQ(p->slots, 32);
  EXPECT_EQ(p->mode, 2);
  EXPECT_EQ(p->low, ToyParams{}.low);
}

TEST(ParseParams, ValueOutOfRangeNamesPolicyParameterValueAndRange) {
  EXPECT_EQ(error_of({{"rate", 0}}), "toy parameter 'rate' = 0 is invalid: must be in (0, 1]");
  EXPECT_EQ(error_of({{"slots", 2.5}}),
            "toy parameter 'slots' = 2.5 is invalid: must be a whole number from 1 to 32");
  EXPECT_EQ(error_of({{"mode", 3}}), "toy parameter 'mode' = 3 is invalid: must be 0, 1 or 2");
  EXPECT_EQ(error_of({{"low", -1}}), "toy parameter 'low' = -1 is invalid: must be >= 0");
}

TEST(ParseParams, RelationsAreCheckedAfterTheRanges) {
  EXPECT_EQ(error_of({{"high", 0.5}}), "toy parameter 'high' must be >= low");
  // A range error comes first, whatever the relations say.
  EXPECT_EQ(error_of({{"high", 0.5}, {"low", -1}}),
            "toy parameter 'low' = -1 is invalid: must be >= 0");
  EXPECT_EQ(error_of({{"high", -5}, {"low", -6}}),
            "toy parameter 'low' = -6 is invalid: must be >= 0");
}

TEST(ParseParams, UnknownAndNonFiniteValuesAreRefused) {
  EXPECT_EQ(error_of({{"speed", 1}}),
            "policy 'toy' has no parameter 'speed' (parameters: rate, slots, mode, low, high)");
  EXPECT_EQ(error_of({{"high", std::numeric_limits<double>::infinity()}}),
            "toy parameter 'high' must be a finite number");
}

}  // namespace
}  // namespace agentsched
