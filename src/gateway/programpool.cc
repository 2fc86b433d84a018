#include "gateway/programpool.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/hash.h"
#include "gateway/policy_params.h"

namespace agentsched {

namespace {

constexpr ParamField<ProgramPoolParams> kFields[] = {
    {"token_capacity", &ProgramPoolParams::token_capacity, ParamRange::at_least(0),
     "token_capacity_per_target: KV tokens of one backend; 0: each backend's KV capacity from "
     "/metrics (cache_config_info)"},
    {"metrics_fresh_s", &ProgramPoolParams::metrics_fresh_s, ParamRange::above(0),
     "a /metrics reading at most this many seconds old is fresh"},
    {"waiting_threshold", &ProgramPoolParams::waiting_threshold, ParamRange::whole_numbers(1),
     "no admission while a fresh reading shows at least this many requests waiting"},
    {"max_active", &ProgramPoolParams::max_active, ParamRange::whole_numbers(1),
     "Active programs per backend at most"},
    {"decode_buffer", &ProgramPoolParams::decode_buffer, ParamRange::at_least(0),
     "tokens added to a program's private tokens (context - shared prefix + this)"},
    {"shared_prefix", &ProgramPoolParams::shared_prefix, ParamRange::at_least(0),
     "prompt tokens all programs share, not counted as private"},
    {"max_acting_ttl_s", &ProgramPoolParams::max_acting_ttl_s, ParamRange::at_least(0),
     "Progress-TTL upper bound"},
    {"ttl_samples", &ProgramPoolParams::ttl_samples, ParamRange::whole_numbers(2),
     "finish-to-next-arrival gaps seen on a backend before the TTL is fitted (TTL 0 before); "
     "also the window of every running mean"},
    {"ttl_cost_factor", &ProgramPoolParams::ttl_cost_factor, ParamRange::at_least(0),
     "the TTL's re-prefill cost C = prefill time of the context x this"},
    {"prefill_tokens_per_s", &ProgramPoolParams::prefill_tokens_per_s, ParamRange::above(0),
     "prefill rate that turns a context into that time"},
    {"yield_rounds", &ProgramPoolParams::yield_rounds, ParamRange::whole_numbers(1),
     "rounds since activation after which a program yields once to a bigger waiter"},
    {"housekeeping_s", &ProgramPoolParams::housekeeping_s, ParamRange::above(0),
     "period of TTL expiry, idle drop and capacity repair"},
    {"idle_drop_s", &ProgramPoolParams::idle_drop_s, ParamRange::above(0),
     "forget programs paused and idle this many seconds"},
    {"force_factor", &ProgramPoolParams::force_factor, ParamRange::at_least(0),
     "force-resume deadline = clamp(force_factor x waiters ahead / completion rate, min, max)"},
    {"force_min_s", &ProgramPoolParams::force_min_s, ParamRange::at_least(0),
     "lower clamp of the force-resume deadline"},
    {"force_max_s", &ProgramPoolParams::force_max_s, ParamRange::at_least(0),
     "upper clamp of the force-resume deadline"},
    {"reserve_scale", &ProgramPoolParams::reserve_scale, ParamRange::at_least(0),
     "growth reserve = this x mean growth per round x rounds left in Active programs' segments"},
    {"resume_fcfs", &ProgramPoolParams::resume_fcfs, ParamRange::whole_numbers(0, 1),
     "0: resume waiters most recently finished first (MRU); 1: by queue time (FCFS)"},
};

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

// Each field's range is in kFields; what remains is a relation between two of them.
Status check(const ProgramPoolParams& p) {
  if (p.force_max_s < p.force_min_s)
    return make_error(fmt::format(
        "programpool parameter 'force_max_s' = {} is invalid: must be >= force_min_s ({})",
        p.force_max_s, p.force_min_s));
  return Ok{};
}

}  // namespace

const ParamTable<ProgramPoolParams> ProgramPoolParams::table = {"programpool", kFields, check};

// --- bookkeeping ---

ProgramPoolPolicy::Rank& ProgramPoolPolicy::rank(BackendIndex b) const {
  if (ranks_.size() <= b) ranks_.resize(b + 1);
  return ranks_[b];
}

double ProgramPoolPolicy::mean_of(const std::deque<double>& window) const {
  if (window.empty()) return 0;
  double sum = 0;
  for (double v : window) sum += v;
  return sum / static_cast<double>(window.size());
}

void ProgramPoolPolicy::push_window(std::deque<double>& window, double value) const {
  window.push_back(value);
  while (window.size() > static_cast<std::size_t>(p_.ttl_samples)) window.pop_front();
}

double ProgramPoolPolicy::required(const Prog& p) const {
  // Private tokens: context - shared prefix + decode buffer; before any response the
  // latest call's prompt stands in for the context.
  const double context = static_cast<double>(std::max(p.context, p.pending_prompt));
  return std::max(0.0, context - p_.shared_prefix) + p_.decode_buffer;
}

bool ProgramPoolPolicy::is_active(const std::string& id) const {
  auto it = progs_.find(id);
  return it != progs_.end() && it->second.active;
}

Seconds ProgramPoolPolicy::acting_until(const std::string& id) const {
  auto it = progs_.find(id);
  return it == progs_.end() ? -1 : it->second.acting_until;
}

Seconds ProgramPoolPolicy::force_deadline(const std::string& id) const {
  auto it = progs_.find(id);
  return it == progs_.end() ? std::numeric_limits<double>::infinity() : it->second.force_at;
}

std::optional<double> ProgramPoolPolicy::capacity(const Gateway& gw, BackendIndex b) const {
  if (p_.token_capacity > 0) return p_.token_capacity;
  const BackendView& v = gw.backends()[b];
  // Before the first reading nothing is known: admission waits for it (one poll interval).
  if (v.polled_at < 0) return std::nullopt;
  const auto reported = v.metrics.kv_capacity_tokens();
  // A backend that does not report its capacity: admission is bounded by the other rules.
  return reported > 0 ? static_cast<double>(reported) : std::numeric_limits<double>::infinity();
}

bool ProgramPoolPolicy::fresh(const Gateway& gw, BackendIndex b) const {
  const BackendView& v = gw.backends()[b];
  return v.polled_at >= 0 && v.metrics.healthy &&
         gw.clock().now() - v.polled_at <= p_.metrics_fresh_s + kTimeSlack;
}

bool ProgramPoolPolicy::waiting_blocks(const Gateway& gw, BackendIndex b) const {
  return fresh(gw, b) &&
         static_cast<double>(gw.backends()[b].metrics.num_waiting) >= p_.waiting_threshold;
}

std::int64_t ProgramPoolPolicy::active_count(BackendIndex b) const {
  std::int64_t n = 0;
  for (const auto& [id, p] : progs_) n += p.active && p.rank == b;
  return n;
}

std::int64_t ProgramPoolPolicy::reasoning_count(const Gateway& gw, BackendIndex b) const {
  std::int64_t n = 0;
  for (const auto& [id, p] : progs_) {
    if (!p.active || p.rank != b) continue;
    const auto it = gw.programs().find(id);
    n += it != gw.programs().end() && it->second.in_flight;
  }
  return n;
}

double ProgramPoolPolicy::acting_tokens(const Gateway& gw, BackendIndex b) const {
  double sum = 0;
  for (const auto& [id, p] : progs_) {
    if (!p.active || p.rank != b) continue;
    const auto it = gw.programs().find(id);
    if (it == gw.programs().end() || !it->second.in_flight) sum += required(p);
  }
  return sum;
}

double ProgramPoolPolicy::used_tokens(const Gateway& gw, BackendIndex b) const {
  const auto cap = capacity(gw, b);
  if (fresh(gw, b) && cap && std::isfinite(*cap)) {
    // The engine's KV of the running calls, scaled up when the router knows more calls in
    // flight than the engine reports running; plus the Acting programs' tokens (their KV is
    // free or merely cached in vLLM); plus what was sent since the reading.
    const BackendMetrics& m = gw.backends()[b].metrics;
    const double reasoning = static_cast<double>(reasoning_count(gw, b));
    const double running = static_cast<double>(m.num_running);
    const double scale = running > 0 ? std::max(reasoning, running) / running : 1.0;
    return m.kv_usage * *cap * scale + acting_tokens(gw, b) + rank(b).dispatched_since_scrape;
  }
  // Stale: the Active programs' private tokens.
  double sum = 0;
  for (const auto& [id, p] : progs_)
    if (p.active && p.rank == b) sum += required(p);
  return sum;
}

double ProgramPoolPolicy::growth_reserve(BackendIndex b) const {
  // Mean context growth per round x the rounds the Active programs may still run in their
  // segments (at least one each).
  double rounds = 0;
  for (const auto& [id, p] : progs_)
    if (p.active && p.rank == b)
      rounds += std::max<double>(1.0, p_.yield_rounds - static_cast<double>(p.rounds));
  return p_.reserve_scale * mean_of(growth_) * rounds;
}

double ProgramPoolPolicy::completion_rate(BackendIndex b) const {
  const auto& c = rank(b).completions;
  if (c.size() < 2 || c.back() <= c.front()) return 0;
  return static_cast<double>(c.size() - 1) / (c.back() - c.front());
}

Seconds ProgramPoolPolicy::deadline_for(BackendIndex b, Seconds now) const {
  std::int64_t ahead = 0;  // programs already waiting on the backend
  for (const auto& [id, p] : progs_) ahead += p.rank == b && p.queued_at >= 0;
  const double rate = completion_rate(b);
  const double wait =
      rate > 0 ? p_.force_factor * static_cast<double>(ahead) / rate : p_.force_max_s;
  return now + std::clamp(wait, p_.force_min_s, p_.force_max_s);
}

Seconds ProgramPoolPolicy::progress_ttl(BackendIndex b, std::int64_t context) const {
  const auto& gaps = rank(b).gaps;
  if (gaps.size() < static_cast<std::size_t>(p_.ttl_samples)) return 0;
  // Log-normal fit (maximum likelihood) of the gaps.
  double mu = 0, var = 0;
  for (double g : gaps) mu += std::log(std::max(g, 1e-3));
  mu /= static_cast<double>(gaps.size());
  for (double g : gaps) var += std::pow(std::log(std::max(g, 1e-3)) - mu, 2);
  const double sigma = std::max(std::sqrt(var / static_cast<double>(gaps.size())), 1e-6);
  const double cost = static_cast<double>(context) / p_.prefill_tokens_per_s * p_.ttl_cost_factor;
  const double upper = std::min(p_.max_acting_ttl_s, cost);
  if (upper <= 0) return 0;
  // d maximising P(T<d) C - E[T; T<d] - d P(T>=d), on a grid of upper/200 (0 scores 0).
  const double mean = std::exp(mu + sigma * sigma / 2);
  auto score = [&](double d) {
    const double z = (std::log(d) - mu) / sigma;
    const double f = normal_cdf(z);
    return f * cost - mean * normal_cdf(z - sigma) - d * (1 - f);
  };
  double best_d = 0, best = 0;
  constexpr int kGrid = 200;
  for (int i = 1; i <= kGrid; ++i) {
    const double d = upper * i / kGrid;
    const double s = score(d);
    if (s > best) {
      best = s;
      best_d = d;
    }
  }
  return best_d;
}

bool ProgramPoolPolicy::fits(const Gateway& gw, BackendIndex b, const Prog& p) const {
  const auto cap = capacity(gw, b);
  if (!cap) return false;
  if (static_cast<double>(active_count(b) + 1) > p_.max_active) return false;
  const double used = used_tokens(gw, b);
  const double need = required(p);
  return used + need <= *cap && used + need + growth_reserve(b) <= *cap;
}

// --- transitions ---

void ProgramPoolPolicy::activate(Gateway& gw, ProgramState& program, Prog& p, bool forced) {
  const Seconds now = gw.clock().now();
  ++stats_.activations;
  stats_.forced_activations += forced;
  p.active = true;
  p.activated_at = now;
  p.rounds = 0;
  p.yielded = false;
  p.just_yielded = false;
  p.pause_when_idle = false;
  p.acting_until = -1;
  p.queued_at = -1;
  p.force_at = std::numeric_limits<double>::infinity();
  p.counted_timeout = false;
  rank(p.rank).dispatched_since_scrape += required(p);
  gw.resume(program);  // forwards the held calls, in order
}

void ProgramPoolPolicy::pause(Gateway& gw, ProgramState& program, Prog& p) {
  p.active = false;
  p.acting_until = -1;
  p.pause_when_idle = false;
  p.paused_since = gw.clock().now();
  program.paused = true;
  program.pause_requested = false;
}

void ProgramPoolPolicy::schedule(Gateway& gw) {
  const Seconds now = gw.clock().now();
  struct Candidate {
    bool forced;
    bool just_yielded;
    Seconds last_finish;
    Seconds queued_at;
    std::string id;
  };
  std::vector<Candidate> waiters;
  for (const auto& [id, p] : progs_) {
    if (p.active || p.queued_at < 0) continue;
    waiters.push_back(
        {now + kTimeSlack >= p.force_at, p.just_yielded, p.last_finish, p.queued_at, id});
  }
  if (waiters.empty()) return;
  const bool fcfs = p_.resume_fcfs == 1;
  std::stable_sort(waiters.begin(), waiters.end(), [&](const Candidate& a, const Candidate& b) {
    if (a.forced != b.forced) return a.forced;
    if (fcfs) return a.queued_at < b.queued_at;
    if (a.just_yielded != b.just_yielded) return !a.just_yielded;
    // Most recently finished first; never-run programs (last_finish -1) last, by queue time.
    if (a.last_finish != b.last_finish) return a.last_finish > b.last_finish;
    return a.queued_at < b.queued_at;
  });
  for (const Candidate& c : waiters) {
    auto it = progs_.find(c.id);
    ProgramState* program = gw.find(c.id);
    if (it == progs_.end() || !program || it->second.active) continue;
    Prog& p = it->second;
    if (waiting_blocks(gw, p.rank)) {
      ++stats_.blocked_by_waiting;
      continue;  // the backend queues requests: nobody is admitted there
    }
    if (c.forced || fits(gw, p.rank, p)) {
      activate(gw, *program, p, c.forced);
    } else {
      ++stats_.skipped_no_room;  // skipped, not waited on: no head-of-line blocking
    }
  }
}

// --- events ---

BackendIndex ProgramPoolPolicy::choose_backend(Gateway& gw, const ProgramState& program) {
  // Home rank by consistent hashing of the program id.
  return static_cast<BackendIndex>(stable_hash64(program.id) % gw.backends().size());
}

void ProgramPoolPolicy::on_request(Gateway& gw, ProgramState& program, CallRequest call) {
  const Seconds now = gw.clock().now();
  auto it = progs_.find(program.id);
  if (it == progs_.end() && call.is_last_step && program.calls == 1) {
    // A call without program identity (the gateway's single-call programs): routed natively.
    gw.forward_now(program, std::move(call));
    return;
  }
  if (it == progs_.end()) {
    it = progs_.emplace(program.id, Prog{}).first;
    it->second.rank = program.backend.value_or(0);
    it->second.paused_since = now;
  }
  Prog& p = it->second;
  p.pending_prompt = call.prompt_tokens_estimate;
  if (p.gap_open) {
    push_window(rank(p.rank).gaps, now - p.last_finish);
    p.gap_open = false;
  }
  if (p.active) {
    if (p.acting_until >= 0) ++stats_.acting_hits;
    p.acting_until = -1;
    rank(p.rank).dispatched_since_scrape += required(p);
    gw.forward_now(program, std::move(call));
    return;
  }
  gw.hold(program, std::move(call));
  program.paused = true;
  if (p.queued_at < 0) {
    p.force_at = deadline_for(p.rank, now);  // before it counts itself as a waiter
    p.queued_at = now;
  }
  schedule(gw);
}

void ProgramPoolPolicy::on_response(Gateway& gw, ProgramState& program, const CallResult& result) {
  auto it = progs_.find(program.id);
  if (it == progs_.end()) return;
  Prog& p = it->second;
  const Seconds now = gw.clock().now();
  if (result.ok) {
    if (p.context > 0 && result.total_tokens() >= p.context)
      push_window(growth_, static_cast<double>(result.total_tokens() - p.context));
    p.context = result.total_tokens();
    push_window(completions_, static_cast<double>(result.completion_tokens));
    push_window(prompts_, static_cast<double>(result.prompt_tokens));
  }
  auto& done = rank(p.rank).completions;
  done.push_back(now);
  while (done.size() > static_cast<std::size_t>(p_.ttl_samples)) done.pop_front();
  if (program.in_flight) return;  // another call of it still runs
  ++p.rounds;
  p.last_finish = now;
  p.gap_open = true;
  if (p.active) {
    if (p.pause_when_idle) {
      ++stats_.paused_repair;
      pause(gw, program, p);
    } else if (!p.yielded && static_cast<double>(p.rounds) >= p_.yield_rounds) {
      // Yield once per segment if some waiter needs more than the relief already pending.
      double relief = 0, need = 0;
      for (const auto& [id, q] : progs_) {
        if (q.rank != p.rank) continue;
        if (q.active && q.pause_when_idle) relief += required(q);
        if (!q.active && q.queued_at >= 0) need = std::max(need, required(q));
      }
      if (need > relief) {
        p.yielded = true;
        ++stats_.paused_yield;
        pause(gw, program, p);
        p.just_yielded = true;
      }
    }
    if (p.active) {
      const Seconds ttl = progress_ttl(p.rank, p.context);
      ++stats_.ttl_set;
      stats_.ttl_sum_s += ttl;
      if (ttl <= 0) {
        ++stats_.paused_ttl;
        pause(gw, program, p);
      } else {
        p.acting_until = now + ttl;
      }
    }
  }
  schedule(gw);
}

void ProgramPoolPolicy::on_metrics(Gateway& gw, BackendIndex backend) {
  // The reading shows everything sent before it.
  if (gw.backends()[backend].metrics.healthy) rank(backend).dispatched_since_scrape = 0;
  schedule(gw);
}

void ProgramPoolPolicy::on_release(Gateway& gw, ProgramState& program) {
  progs_.erase(program.id);
  schedule(gw);
}

std::optional<Seconds> ProgramPoolPolicy::next_timer(const Gateway& gw) const {
  if (progs_.empty()) return std::nullopt;
  if (next_housekeeping_ < 0) return gw.clock().now() + p_.housekeeping_s;
  return next_housekeeping_;
}

void ProgramPoolPolicy::on_timer(Gateway& gw) {
  const Seconds now = gw.clock().now();
  if (next_housekeeping_ < 0) next_housekeeping_ = now;
  if (now + kTimeSlack < next_housekeeping_) return;
  while (next_housekeeping_ <= now + kTimeSlack) next_housekeeping_ += p_.housekeeping_s;
  housekeeping(gw);
}

void ProgramPoolPolicy::repair(Gateway& gw, BackendIndex b) {
  const auto cap = capacity(gw, b);
  if (!cap || !std::isfinite(*cap)) return;
  const Seconds now = gw.clock().now();
  double excess = used_tokens(gw, b) +
                  mean_of(completions_) * static_cast<double>(reasoning_count(gw, b)) - *cap;
  if (excess <= 0) return;
  const double mean_prompt = mean_of(prompts_);
  struct Victim {
    double score;
    std::string id;
  };
  std::vector<Victim> idle, reasoning;
  for (const auto& [id, p] : progs_) {
    if (!p.active || p.rank != b || p.pause_when_idle) continue;
    const ProgramState* program = gw.find(id);
    if (!program) continue;
    const double ratio = mean_prompt > 0 ? static_cast<double>(p.context) / mean_prompt : 1.0;
    const double weight = ratio > 0 ? std::max(0.5, 1 / std::sqrt(ratio)) : 1.0;
    (program->in_flight ? reasoning : idle).push_back({(now - p.activated_at) * weight, id});
  }
  auto by_score = [](const Victim& a, const Victim& b) { return a.score > b.score; };
  std::stable_sort(idle.begin(), idle.end(), by_score);
  std::stable_sort(reasoning.begin(), reasoning.end(), by_score);
  for (const Victim& v : idle) {
    if (excess <= 0) return;
    Prog& p = progs_.at(v.id);
    excess -= required(p);
    ++stats_.paused_repair;
    pause(gw, *gw.find(v.id), p);
  }
  for (const Victim& v : reasoning) {
    if (excess <= 0) return;
    Prog& p = progs_.at(v.id);
    excess -= required(p);
    p.pause_when_idle = true;
    gw.find(v.id)->pause_requested = true;
    ++stats_.repair_marked;
  }
}

void ProgramPoolPolicy::housekeeping(Gateway& gw) {
  const Seconds now = gw.clock().now();
  std::vector<std::string> drop;
  for (auto& [id, p] : progs_) {
    ProgramState* program = gw.find(id);
    if (!program) continue;
    if (p.active && !program->in_flight && p.acting_until >= 0 &&
        now + kTimeSlack >= p.acting_until) {
      ++stats_.paused_ttl;
      pause(gw, *program, p);
    }
    if (!p.active && p.queued_at >= 0 && !p.counted_timeout && now - p.queued_at >= 600) {
      p.counted_timeout = true;
      ++stats_.held_past_600s;
    }
    if (!p.active && p.queued_at < 0 && !program->in_flight &&
        now - p.paused_since >= p_.idle_drop_s)
      drop.push_back(id);
  }
  for (const auto& id : drop) {
    progs_.erase(id);
    ++stats_.dropped_idle;
  }
  for (BackendIndex b = 0; b < gw.backends().size(); ++b) repair(gw, b);
  schedule(gw);
}

std::vector<std::pair<std::string, double>> ProgramPoolPolicy::counters() const {
  const auto& s = stats_;
  return {{"activations", static_cast<double>(s.activations)},
          {"forced_activations", static_cast<double>(s.forced_activations)},
          {"blocked_by_waiting", static_cast<double>(s.blocked_by_waiting)},
          {"skipped_no_room", static_cast<double>(s.skipped_no_room)},
          {"paused_ttl", static_cast<double>(s.paused_ttl)},
          {"paused_yield", static_cast<double>(s.paused_yield)},
          {"paused_repair", static_cast<double>(s.paused_repair)},
          {"repair_marked", static_cast<double>(s.repair_marked)},
          {"acting_hits", static_cast<double>(s.acting_hits)},
          {"mean_ttl_s", s.ttl_set ? s.ttl_sum_s / static_cast<double>(s.ttl_set) : 0.0},
          {"dropped_idle", static_cast<double>(s.dropped_idle)},
          {"held_past_600s", static_cast<double>(s.held_past_600s)}};
}

}  // namespace agentsched
