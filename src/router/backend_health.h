#pragma once
// What the router knows of each backend's health, and the one state machine that changes it:
// up (optimistic at start) -> down on a failed /metrics poll or a backend fault during a
// request (connect refused or timed out, no or bad response, a relay cut short) -> up again
// on a good poll or a response under 500 relayed whole. Counters for /backends and /metrics
// ride along. No I/O: the router acts on the transitions these return (closing pooled
// connections, telling the gateway, logging).
#include <cstdint>
#include <string>

namespace agentsched::serve {

struct BackendStatus {
  std::string url;
  bool up = true;  // optimistic until a poll or a request says otherwise
  std::string last_error;
  double changed_at = 0;  // router clock
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::uint64_t polls = 0;
  std::uint64_t poll_failures = 0;
  bool polled_ok = false;
  std::size_t idle_connections = 0;  // filled in for reports only

  // A fault seen at `now`: last_error is always updated; returns true when the backend was
  // up (it is down from now on).
  bool mark_down(double now, std::string why);
  // A sign of life: returns true when the backend was down.
  bool mark_up(double now);
  // A /metrics poll's outcome (counted); ok -> mark_up, else -> mark_down. Returns whether
  // the up/down state changed.
  bool poll_result(double now, bool ok, std::string why = {});
  // A response relayed whole with this status: a backend that answers under 500 is up.
  bool response_relayed(double now, int status);
};

}  // namespace agentsched::serve
