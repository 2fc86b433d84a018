// The one registry of systems (gateway/systems.h) and the one `--param` parser
// (gateway/policy_params.h).
#include "gateway/systems.h"

#include <gtest/gtest.h>

#include "gateway/policy_params.h"

namespace agentsched {
namespace {

TEST(Systems, RegistryListsEachSystemOnceWithItsPolicies) {
  const auto all = builtin_systems();
  ASSERT_FALSE(all.empty());
  for (const auto& s : all) {
    EXPECT_FALSE(s.engine_policy.empty()) << s.name;
    EXPECT_FALSE(s.description.empty()) << s.name;
    EXPECT_EQ(s.needs_router(), s.gateway_policy != "passthrough") << s.name;
    int same = 0;
    for (const auto& t : all) same += t.name == s.name;
    EXPECT_EQ(same, 1) << s.name;
  }
  auto baseline = find_system("baseline");
  ASSERT_TRUE(baseline.ok());
  EXPECT_EQ(baseline->engine_policy, "fcfs");
  EXPECT_FALSE(baseline->needs_router());
  auto missing = find_system("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("unknown system 'nope' (known: baseline"),
            std::string::npos)
      << missing.error().message;
}

TEST(Systems, ParametersAreCheckedAgainstThePolicy) {
  auto tr = find_system("thunderreact", PolicyParams{{"budget", 0}});
  ASSERT_TRUE(tr.ok()) << tr.error().message;
  EXPECT_EQ(tr->gateway_params.at("budget"), 0);
  auto bad = find_system("thunderreact", PolicyParams{{"no_such_knob", 1}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("no_such_knob"), std::string::npos);
}

TEST(PolicyParams, SettingsParseOnceForEveryCommand) {
  auto p = parse_param_settings({"a=1", "b=-2.5", "a=3"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->at("a"), 3);
  EXPECT_EQ(p->at("b"), -2.5);
  for (const auto& [item, message] : {std::pair{"budget", "--param 'budget': expected name=value"},
                                      {"=1", "--param '=1': expected name=value"},
                                      {"x=", "--param 'x=': value must be a number"},
                                      {"x=1e999", "--param 'x=1e999': value must be a number"},
                                      {"x=nan", "--param 'x=nan': value must be a number"},
                                      {"x=2b", "--param 'x=2b': value must be a number"}}) {
    auto r = parse_param_settings({item});
    ASSERT_FALSE(r.ok()) << item;
    EXPECT_EQ(r.error().message, message);
  }
}

}  // namespace
}  // namespace agentsched
