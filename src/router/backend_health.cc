#include "router/backend_health.h"

#include <utility>

namespace agentsched::serve {

bool BackendStatus::mark_down(double now, std::string why) {
  last_error = std::move(why);
  if (!up) return false;
  up = false;
  changed_at = now;
  return true;
}

bool BackendStatus::mark_up(double now) {
  if (up) return false;
  up = true;
  changed_at = now;
  return true;
}

bool BackendStatus::poll_result(double now, bool ok, std::string why) {
  ++polls;
  if (ok) {
    polled_ok = true;
    return mark_up(now);
  }
  ++poll_failures;
  return mark_down(now, std::move(why));
}

bool BackendStatus::response_relayed(double now, int status) {
  if (up || status >= 500) return false;
  return mark_up(now);
}

}  // namespace agentsched::serve
