#pragma once
#include "gateway/gateway.h"

namespace agentsched {

// Forwards every call at once; a program stays on the backend it was first placed on
// (least loaded at the time).
class PassthroughPolicy final : public GatewayPolicy {
 public:
  std::string_view name() const override { return "passthrough"; }
  void on_request(Gateway& gw, ProgramState& program, CallRequest call) override {
    gw.forward_now(program, std::move(call));
  }
};

}  // namespace agentsched
