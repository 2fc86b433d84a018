#pragma once
// A gateway on the virtual clock with a fake driver that records every forward, so tests can
// say exactly which call went where and when, without an engine.
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "gateway/gateway.h"
#include "gateway/policies.h"

namespace agentsched::test {

struct Forwarded {
  RequestId id;
  std::string program;
  BackendIndex backend;
  Seconds at;
};

class RecordingDriver final : public GatewayDriver {
 public:
  explicit RecordingDriver(const Clock& clock) : clock_(clock) {}
  void forward(const CallRequest& call, BackendIndex backend) override {
    forwards.push_back({call.id, call.program_id, backend, clock_.now()});
  }
  std::vector<Forwarded> forwards;

 private:
  const Clock& clock_;
};

class GatewayHarness {
 public:
  GatewayHarness(std::unique_ptr<GatewayPolicy> policy, std::size_t backends)
      : driver(clock), gw(std::move(policy), clock, driver, backends) {}

  // Submits a call of `program`; returns its id.
  RequestId call(const std::string& program, std::int64_t prompt_estimate = 1000,
                 bool is_last_step = false) {
    CallRequest c;
    c.id = next_id_++;
    c.program_id = program;
    c.is_last_step = is_last_step;
    c.prompt_tokens_estimate = prompt_estimate;
    gw.submit(std::move(c));
    return next_id_ - 1;
  }
  void done(RequestId id, std::int64_t prompt_tokens, std::int64_t completion_tokens = 0,
            std::int64_t cached_tokens = 0) {
    CallResult r;
    r.id = id;
    r.prompt_tokens = prompt_tokens;
    r.completion_tokens = completion_tokens;
    r.cached_tokens = cached_tokens;
    gw.complete(r);
  }
  // A program that has completed `steps` calls, the last one with `context` total tokens, and
  // is now between calls.
  void program(const std::string& id, std::int64_t steps, std::int64_t context) {
    for (std::int64_t i = 0; i < steps; ++i) done(call(id, context), context - 10, 10);
  }
  void metrics(BackendIndex b, double usage, std::int64_t running = 0, std::int64_t waiting = 0) {
    BackendMetrics m;
    m.kv_usage = usage;
    m.num_running = running;
    m.num_waiting = waiting;
    gw.update_metrics(b, m);
  }
  void at(Seconds t) { clock.advance_to(t); }
  bool forwarded(RequestId id) const {
    for (const auto& f : driver.forwards)
      if (f.id == id) return true;
    return false;
  }
  ProgramState& state(const std::string& id) { return *gw.find(id); }

  VirtualClock clock;
  RecordingDriver driver;
  Gateway gw;

 private:
  RequestId next_id_ = 1;
};

}  // namespace agentsched::test
