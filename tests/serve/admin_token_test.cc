// The router's admin token (serve/admin_token.h): where it comes from, what is refused, and
// how an Authorization header is matched against it.
#include "http/admin_token.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace agentsched::serve {
namespace {

namespace fs = std::filesystem;

struct TokenFile {
  explicit TokenFile(const std::string& text)
      : path(fs::temp_directory_path() / ("admin-token-" + std::to_string(::getpid()))) {
    std::ofstream(path) << text;
  }
  ~TokenFile() { fs::remove(path); }
  fs::path path;
};

std::optional<std::string> none() {
  return std::nullopt;
}

TEST(AdminToken, PrecedenceOptionThenFileThenEnvironment) {
  auto r = resolve_admin_token(std::string("from-flag"), none(), "from-env");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "from-flag");
  TokenFile file(" \tfrom-file \r\nnext line\n");
  r = resolve_admin_token(none(), file.path.string(), "from-env");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "from-file");
  r = resolve_admin_token(none(), none(), "from-env");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "from-env");
  r = resolve_admin_token(none(), none(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->has_value());
}

TEST(AdminToken, BadTokensAreRefusedWithoutBeingEchoed) {
  const auto error_of = [](const Result<std::optional<std::string>>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_NE(error_of(resolve_admin_token(std::string(""), none(), "env")).find("empty"),
            std::string::npos);
  EXPECT_NE(error_of(resolve_admin_token(none(), none(), "")).find("AGENTSCHED_ADMIN_TOKEN"),
            std::string::npos);
  EXPECT_NE(
      error_of(resolve_admin_token(std::string("a"), std::string("f"), nullptr)).find("not both"),
      std::string::npos);
  const std::string spaced = error_of(resolve_admin_token(std::string("sec ret"), none(), nullptr));
  EXPECT_NE(spaced.find("without spaces"), std::string::npos) << spaced;
  EXPECT_EQ(spaced.find("sec"), std::string::npos) << spaced;
  EXPECT_FALSE(resolve_admin_token(std::string("a\nb"), none(), nullptr).ok());
  EXPECT_FALSE(resolve_admin_token(std::string("caf\xc3\xa9"), none(), nullptr).ok());
  TokenFile blank("\n\nsecond-line-token\n");
  EXPECT_NE(error_of(resolve_admin_token(none(), blank.path.string(), nullptr)).find("empty"),
            std::string::npos);
  EXPECT_NE(error_of(resolve_admin_token(none(), std::string("/nonexistent/token"), nullptr))
                .find("cannot read"),
            std::string::npos);
}

TEST(AdminToken, BearerMatching) {
  const std::string token = "s3cr3t-token";
  EXPECT_TRUE(bearer_matches("Bearer s3cr3t-token", token));
  EXPECT_TRUE(bearer_matches("bearer s3cr3t-token", token));
  EXPECT_TRUE(bearer_matches("  BEARER \t s3cr3t-token  ", token));
  EXPECT_FALSE(bearer_matches(std::nullopt, token));
  EXPECT_FALSE(bearer_matches("", token));
  EXPECT_FALSE(bearer_matches("Bearer", token));
  EXPECT_FALSE(bearer_matches("Bearer ", token));
  EXPECT_FALSE(bearer_matches("Bearers3cr3t-token", token));
  EXPECT_FALSE(bearer_matches("Basic s3cr3t-token", token));
  EXPECT_FALSE(bearer_matches("s3cr3t-token", token));
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-toke", token));
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-tokenn", token));
  EXPECT_FALSE(bearer_matches("Bearer S3CR3T-TOKEN", token));  // the token is case-sensitive
  EXPECT_FALSE(bearer_matches("Bearer s3cr3t-token", ""));
}

TEST(AdminToken, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("abcabc", "abc"));  // a repetition is not equal
  EXPECT_FALSE(constant_time_equal("", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", ""));
}

}  // namespace
}  // namespace agentsched::serve
