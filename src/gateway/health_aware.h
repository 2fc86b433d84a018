#pragma once
// Health-aware placement: a wrapper around any gateway policy that keeps programs off
// backends known to be down, for any driver (the live router, which learns health from its
// /metrics polls and failed requests, or a simulation that takes a backend down). The rule:
//
//  - placement: the wrapped policy chooses; only a down choice is replaced, by the up backend
//    with the fewest programs, then calls in flight (lowest index on ties). With no backend
//    up the policy's choice stands.
//  - held programs: when a poll of backend B arrives and B is down, programs held on B with
//    no call in flight move to up backends (B's policy rounds, which would resume them, never
//    come while B's polls fail); the up backends' rounds decide for them from then on.
//  - before a call: a sticky program whose backend is down moves to an up backend before its
//    next call is submitted -- not while a call of it is still in flight on the old backend,
//    whose accounting would then go wrong (move_before_call).
//  - coming back: a backend that is up again is chosen as any other; programs moved away stay
//    where they went (placement is sticky).
//
// Everything else (hold, resume, timers, parameters, name) is the wrapped policy's own.
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "gateway/gateway.h"

namespace agentsched {

class HealthAwarePlacement final : public GatewayPolicy {
 public:
  using IsUp = std::function<bool(BackendIndex)>;
  HealthAwarePlacement(std::unique_ptr<GatewayPolicy> inner, IsUp is_up);

  std::string_view name() const override { return inner_->name(); }
  void on_request(Gateway& gw, ProgramState& p, CallRequest call) override;
  void on_response(Gateway& gw, ProgramState& p, const CallResult& r) override;
  void on_metrics(Gateway& gw, BackendIndex b) override;
  void on_release(Gateway& gw, ProgramState& p) override;
  std::optional<Seconds> next_timer(const Gateway& gw) const override;
  void on_timer(Gateway& gw) override;
  BackendIndex choose_backend(Gateway& gw, const ProgramState& p) override;

  bool is_up(BackendIndex b) const { return is_up_(b); }
  // The up backend with the fewest programs, then calls in flight, other than `excluded`;
  // nullopt when none is up.
  std::optional<BackendIndex> healthy_fallback(const Gateway& gw,
                                               std::optional<BackendIndex> excluded) const;
  // A call of `program` is about to be submitted: if it is placed on a down backend and has
  // no call in flight, it moves to the healthy fallback. Returns whether it moved.
  bool move_before_call(Gateway& gw, ProgramState& program) const;
  GatewayPolicy& inner() { return *inner_; }

 private:
  void move_held_programs(Gateway& gw, BackendIndex down);

  std::unique_ptr<GatewayPolicy> inner_;
  IsUp is_up_;
};

}  // namespace agentsched
