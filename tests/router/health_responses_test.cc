// Backend health (router/backend_health.h) and the router's error bodies (router/responses.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "router/backend_health.h"
#include "router/responses.h"

namespace agentsched::serve {
namespace {

TEST(BackendHealth, DownOnFaultUpOnGoodPollOrAnswer) {
  BackendStatus b;
  EXPECT_TRUE(b.up);  // optimistic at start
  EXPECT_FALSE(b.mark_up(1));
  EXPECT_TRUE(b.mark_down(2, "connect: refused"));
  EXPECT_FALSE(b.up);
  EXPECT_EQ(b.changed_at, 2);
  // A second fault only updates the error.
  EXPECT_FALSE(b.mark_down(3, "no response"));
  EXPECT_EQ(b.last_error, "no response");
  EXPECT_EQ(b.changed_at, 2);
  // A 5xx answer relayed whole does not bring it back; a 4xx does.
  EXPECT_FALSE(b.response_relayed(4, 503));
  EXPECT_FALSE(b.up);
  EXPECT_TRUE(b.response_relayed(5, 404));
  EXPECT_TRUE(b.up);
  EXPECT_EQ(b.changed_at, 5);
  EXPECT_FALSE(b.response_relayed(6, 200));  // already up: no change
}

TEST(BackendHealth, PollsCountAndDecide) {
  BackendStatus b;
  EXPECT_FALSE(b.poll_result(1, true));
  EXPECT_TRUE(b.polled_ok);
  EXPECT_TRUE(b.poll_result(2, false, "/metrics poll: no answer within 2 s"));
  EXPECT_FALSE(b.poll_result(3, false, "/metrics poll: again"));
  EXPECT_TRUE(b.poll_result(4, true));
  EXPECT_EQ(b.polls, 4u);
  EXPECT_EQ(b.poll_failures, 2u);
  EXPECT_EQ(b.last_error, "/metrics poll: again");  // kept for /backends after recovery
  EXPECT_EQ(b.changed_at, 4);
}

TEST(RouterResponses, OpenAiErrorBodies) {
  EXPECT_EQ(
      error_body(400, "bad \"json\""),
      R"({"error":{"message":"bad \"json\"","type":"invalid_request_error","param":null,"code":400}})");
  const auto type = [](int status) {
    return std::string(
        boost::json::parse(error_body(status, "m")).at("error").at("type").as_string());
  };
  EXPECT_EQ(type(401), "authentication_error");
  EXPECT_EQ(type(404), "invalid_request_error");
  EXPECT_EQ(type(502), "server_error");
  EXPECT_EQ(type(503), "service_unavailable");
  EXPECT_EQ(type(504), "timeout");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(299), "Unknown");
}

TEST(RouterResponses, FormatAndDecode) {
  std::string out;
  format_response(out, 404, "application/json", "{}", "x-a: 1\r\n", false);
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nserver: agentsched-router\r\ncontent-type: "
            "application/json\r\ncontent-length: 2\r\nx-a: 1\r\nconnection: close\r\n\r\n{}");
  format_response(out, 200, "text/plain", "ok", {}, true);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nserver: agentsched-router\r\ncontent-type: text/plain\r\n"
            "content-length: 2\r\n\r\nok");
  EXPECT_EQ(url_decode("job%3A1"), "job:1");
  EXPECT_EQ(url_decode("a%zz+b"), "a%zz+b");
}

}  // namespace
}  // namespace agentsched::serve
