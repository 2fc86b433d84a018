#include "engine/engine_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "core/rng.h"

namespace agentsched {

EngineModel::EngineModel(const Profile& profile, std::unique_ptr<EnginePolicy> policy,
                         const Clock& clock, EngineOptions options)
    : profile_(profile),
      cost_(profile),
      policy_(std::move(policy)),
      clock_(clock),
      options_(options),
      pool_(options.num_gpu_blocks_override > 0 ? options.num_gpu_blocks_override
                                                : profile.num_gpu_blocks()),
      block_size_(profile.engine.block_size),
      max_num_seqs_(profile.engine.max_num_seqs),
      max_num_batched_tokens_(profile.engine.max_num_batched_tokens),
      max_model_len_(profile.model.max_model_len),
      frontend_s_(profile.cost.frontend_ms / 1e3) {
  if (!policy_) throw std::invalid_argument("engine model needs a policy");
  policy_->attach(*this);
  if (const std::int64_t host_blocks = profile_.num_host_blocks(); host_blocks > 0) {
    if (!(profile_.host.bandwidth_gb_s > 0))
      throw std::invalid_argument("a host KV tier needs host.bandwidth_gb_s");
    host_ = std::make_unique<HostTier>(
        HostTier{HostKvPool(host_blocks),
                 HostLink(profile_.host.bandwidth_gb_s * 1e9, profile_.host.latency_ms / 1e3),
                 {}});
    pool_.set_eviction_log(&host_->evicted);
  }
}

Status EngineModel::add_request(EngineRequestSpec spec) {
  if (requests_.count(spec.id)) return make_error(fmt::format("duplicate request id {}", spec.id));
  if (spec.prompt_tokens < 1) return make_error("prompt must have at least one token");
  if (spec.output_tokens < 1) return make_error("output must be at least one token");
  if (spec.prompt_tokens + spec.output_tokens > max_model_len_)
    return make_error(fmt::format(
        "This model's maximum context length is {} tokens. However, you requested {} tokens "
        "({} in the messages, {} in the completion).",
        max_model_len_, spec.prompt_tokens + spec.output_tokens, spec.prompt_tokens,
        spec.output_tokens));
  // A request that cannot fit in the whole cache would preempt itself forever; vLLM refuses
  // such a configuration at start-up, the model refuses the request.
  // (The last sampled token is never written to the cache.)
  if (blocks_needed(spec.prompt_tokens + spec.output_tokens - 1) > pool_.num_blocks() - 1)
    return make_error(fmt::format("request of {} tokens exceeds the KV cache capacity of {} tokens",
                                  spec.prompt_tokens + spec.output_tokens,
                                  (pool_.num_blocks() - 1) * block_size_));
  const Seconds now = clock_.now();
  auto owned = std::make_unique<EngineRequest>();
  EngineRequest& r = *owned;
  r.spec = std::move(spec);
  r.num_tokens = r.spec.prompt_tokens;
  const auto full_prompt_blocks = static_cast<std::size_t>(r.spec.prompt_tokens / block_size_);
  if (r.spec.prompt_block_hashes.size() > full_prompt_blocks)
    r.spec.prompt_block_hashes.resize(full_prompt_blocks);
  r.block_hashes = r.spec.prompt_block_hashes;
  r.timeline.arrival = now;
  requests_.emplace(r.spec.id, std::move(owned));
  if (frontend_s_ > 0) {
    r.in_api_server = true;
    arriving_.emplace_back(now + frontend_s_, &r);
  } else
    enqueue_arrived(r);
  return Ok{};
}

void EngineModel::enqueue_arrived(EngineRequest& r) {
  const Seconds now = clock_.now();
  r.waiting_since = now;
  policy_->on_arrival(r, now);
  policy_->enqueue(waiting_, &r, false);
  ++waiting_per_program_[r.spec.program_key];
}

void EngineModel::collect_arrivals() {
  const Seconds now = clock_.now();
  while (!arriving_.empty() && arriving_.front().first <= now) {
    EngineRequest* r = arriving_.front().second;
    arriving_.pop_front();
    r->in_api_server = false;
    enqueue_arrived(*r);
  }
}

bool EngineModel::abort_request(RequestId id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return false;
  EngineRequest& r = *it->second;
  if (r.aborted) return true;
  r.aborted = true;
  if (step_in_flight_ && r.scheduled_tokens > 0) return true;  // removed in finish_step
  remove_request(id);
  return true;
}

void EngineModel::remove_request(RequestId id) {
  auto it = requests_.find(id);
  EngineRequest& r = *it->second;
  if (r.running) {
    running_.erase(std::find(running_.begin(), running_.end(), &r));
  } else if (r.in_api_server) {
    // The scheduler never saw it: nothing else refers to it.
    arriving_.erase(std::find_if(arriving_.begin(), arriving_.end(),
                                 [&](const auto& entry) { return entry.second == &r; }));
    requests_.erase(it);
    return;
  } else if (r.host_loading) {
    // The load goes on (its bytes are on the link); nobody waits for it.
    loading_.erase(std::find(loading_.begin(), loading_.end(), &r));
    host_->link.forget(r.host_load_id);
    if (--waiting_per_program_[r.spec.program_key] == 0)
      waiting_per_program_.erase(r.spec.program_key);
  } else {
    auto w = std::find(waiting_.begin(), waiting_.end(), &r);
    if (w != waiting_.end()) {
      waiting_.erase(w);
      if (--waiting_per_program_[r.spec.program_key] == 0)
        waiting_per_program_.erase(r.spec.program_key);
    }
  }
  free_blocks(r);
  policy_->on_aborted(r);
  requests_.erase(it);
}

std::uint64_t EngineModel::block_hash(EngineRequest& r, std::int64_t index) {
  // Blocks past the hashes the client gave (generated tokens, unknown content) get hashes
  // unique to this request, chained like the rest, so only this request's own recompute
  // after preemption can hit them.
  while (static_cast<std::int64_t>(r.block_hashes.size()) <= index) {
    const std::uint64_t prev = r.block_hashes.empty() ? 0x5eedULL : r.block_hashes.back();
    r.block_hashes.push_back(
        hash_combine(prev, mix64(r.spec.id * 0x100000001b3ULL + r.block_hashes.size())));
  }
  return r.block_hashes[static_cast<std::size_t>(index)];
}

bool EngineModel::grow(EngineRequest& r, std::int64_t tokens) {
  const std::int64_t need = blocks_needed(tokens) - static_cast<std::int64_t>(r.blocks.size());
  if (need <= 0) return true;
  if (need > pool_.num_free()) return false;
  for (std::int64_t i = 0; i < need; ++i) r.blocks.push_back(pool_.allocate());
  return true;
}

const std::vector<BlockId>& EngineModel::find_cached_prefix(EngineRequest& r) {
  // The last token is always computed, so at most num_tokens - 1 tokens can hit.
  const std::int64_t max_blocks = (r.num_tokens - 1) / block_size_;
  std::vector<BlockId>& hit = r.probed_prefix;
  // The probed blocks' hashes were computed by the probe that found them.
  const std::size_t limit =
      std::min(hit.size(), static_cast<std::size_t>(std::max<std::int64_t>(max_blocks, 0)));
  std::size_t still_valid = 0;
  const std::uint64_t* hashes = r.block_hashes.data();
  while (still_valid < limit && pool_.holds(hit[still_valid], hashes[still_valid])) ++still_valid;
  hit.resize(still_valid);
  for (auto i = static_cast<std::int64_t>(hit.size()); i < max_blocks; ++i) {
    const BlockId b = pool_.lookup(block_hash(r, i));
    if (b == kNoBlock) break;
    hit.push_back(b);
  }
  return hit;
}

void EngineModel::free_blocks(EngineRequest& r) {
  if (r.blocks.empty()) return;
  pool_.release_sequence(r.blocks);
  r.blocks.clear();
  r.num_cached_blocks = 0;
}

void EngineModel::preempt(std::size_t index) {
  EngineRequest* r = running_[index];
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  if (r->scheduled_tokens > 0) {
    scheduled_.erase(std::find(scheduled_.begin(), scheduled_.end(), r));
    r->scheduled_tokens = 0;
  }
  free_blocks(*r);
  r->num_computed = 0;
  r->running = false;
  r->waiting_since = clock_.now();
  ++r->timeline.preemptions;
  ++counters_.preemptions;
  policy_->enqueue(waiting_, r, true);
  ++waiting_per_program_[r->spec.program_key];
}

bool EngineModel::evict_one_pin(std::uint64_t keep_program) {
  auto victim = pins_.end();
  for (auto it = pins_.begin(); it != pins_.end(); ++it) {
    if (it->first == keep_program) continue;
    if (victim == pins_.end() || it->second.expires > victim->second.expires ||
        (it->second.expires == victim->second.expires && it->first > victim->first))
      victim = it;
  }
  if (victim == pins_.end()) return false;
  ++counters_.pins_evicted;
  release_pin(victim->first);
  return true;
}

void EngineModel::release_pin(std::uint64_t program_key) {
  auto it = pins_.find(program_key);
  if (it == pins_.end()) return;
  pool_.release_sequence(it->second.blocks);
  pins_.erase(it);
}

bool EngineModel::program_has_waiting(std::uint64_t program_key) const {
  return waiting_per_program_.count(program_key) != 0;
}

void EngineModel::release_expired_pins() {
  if (pins_.empty()) return;
  const Seconds now = clock_.now();
  std::vector<std::uint64_t> expired;
  for (const auto& [key, pin] : pins_)
    if (pin.expires <= now && !program_has_waiting(key)) expired.push_back(key);
  std::sort(expired.begin(), expired.end());
  for (auto key : expired) {
    ++counters_.pins_expired;
    release_pin(key);
  }
}

std::int64_t EngineModel::admission_blocks_from_free(EngineRequest& r, std::int64_t n) {
  // The cached prefix found by the lookup (r.probed_prefix, fresh) is reused; those of its
  // blocks that are free (cached, unreferenced) leave the free queue when taken.
  const std::vector<BlockId>& cached = r.probed_prefix;
  const std::int64_t hit_tokens = static_cast<std::int64_t>(cached.size()) * block_size_;
  std::int64_t from_free = blocks_needed(hit_tokens + n) - static_cast<std::int64_t>(cached.size());
  for (BlockId b : cached) from_free += pool_.is_free(b);
  return from_free;
}

void EngineModel::preempt_for_priority(std::int64_t budget) {
  // The batch by priority (plas): while the best waiting request could not be admitted in
  // this step -- too few free blocks, or max_num_seqs reached -- and it outranks the
  // lowest-priority running request, that one is preempted (recompute; HOOK (host tier): an
  // offload instead). Admission below then takes the waiting request, in the same step.
  while (!waiting_.empty() && !running_.empty()) {
    EngineRequest* head = waiting_[policy_->pick_next(waiting_)];
    const std::vector<BlockId>& cached = find_cached_prefix(*head);
    const std::int64_t hit_tokens = static_cast<std::int64_t>(cached.size()) * block_size_;
    const std::int64_t n = std::min(head->num_tokens - hit_tokens, budget);
    const bool fits = static_cast<std::int64_t>(running_.size()) < max_num_seqs_ &&
                      admission_blocks_from_free(*head, n) <= pool_.num_free();
    if (fits) return;
    const std::size_t victim = policy_->pick_victim(running_);
    if (!policy_->outranks(*head, *running_[victim])) return;
    preempt(victim);
    ++counters_.priority_preemptions;
  }
}

std::int64_t EngineModel::host_prefix_blocks(EngineRequest& r, std::int64_t gpu_blocks) {
  const std::int64_t max_blocks = (r.num_tokens - 1) / block_size_;
  std::int64_t n = 0;
  while (gpu_blocks + n < max_blocks && host_->pool.contains(block_hash(r, gpu_blocks + n))) ++n;
  return n;
}

void EngineModel::collect_host_loads() {
  if (!host_) return;
  const Seconds now = clock_.now();
  host_->link.advance(now);
  counters_.host_link_busy_s = host_->link.busy_s();
  counters_.host_link_bytes = host_->link.bytes_moved();
  if (loading_.empty()) return;
  std::vector<std::pair<Seconds, EngineRequest*>> ready;
  std::vector<EngineRequest*> still;
  for (EngineRequest* r : loading_) {
    const std::optional<Seconds> done = host_->link.done_at(r->host_load_id);
    if (done && *done <= now)
      ready.emplace_back(*done, r);
    else
      still.push_back(r);
  }
  if (ready.empty()) return;
  loading_ = std::move(still);
  // vLLM puts a request whose load is done back at the head of the waiting queue (with the
  // requests it skipped while loading): earliest done first.
  std::stable_sort(ready.begin(), ready.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto it = ready.rbegin(); it != ready.rend(); ++it) {
    EngineRequest* r = it->second;
    host_->link.forget(r->host_load_id);
    counters_.host_load_wait_s += it->first - r->host_load_started;
    const auto held = static_cast<std::int64_t>(r->blocks.size());
    for (std::int64_t b = r->num_cached_blocks; b < held; ++b)
      pool_.cache(r->blocks[static_cast<std::size_t>(b)], block_hash(*r, b));
    r->num_cached_blocks = held;
    r->host_loading = false;
    r->host_loaded = true;
    waiting_.push_front(r);
  }
}

bool EngineModel::release_loaded_holds() {
  bool any = false;
  for (EngineRequest* r : waiting_) {
    if (!r->host_loaded) continue;
    free_blocks(*r);
    r->host_loaded = false;
    any = true;
  }
  return any;
}

void EngineModel::store_evicted_blocks() {
  if (!host_ || host_->evicted.empty()) return;
  std::int64_t stored = 0;
  for (std::uint64_t hash : host_->evicted) {
    if (host_->pool.store(hash))
      ++stored;
    else
      ++counters_.host_store_refreshes;
  }
  host_->evicted.clear();
  counters_.host_stores += static_cast<double>(stored);
  counters_.host_evictions = static_cast<double>(host_->pool.evictions());
  if (stored > 0)
    host_->link.start(clock_.now(), static_cast<double>(stored) * profile_.kv_bytes_per_block(),
                      /*tracked=*/false);
}

std::optional<Seconds> EngineModel::begin_step() {
  if (step_in_flight_) throw std::logic_error("begin_step while a step is in flight");
  release_expired_pins();
  collect_host_loads();
  collect_arrivals();
  const Seconds now = clock_.now();
  std::int64_t budget = max_num_batched_tokens_;
  bool preempted_any = false;
  scheduled_.clear();
  if (policy_->on_step_begin(running_, waiting_, now)) preempt_for_priority(budget);

  // Running requests first, in admission order.
  std::size_t i = 0;
  while (i < running_.size() && budget > 0) {
    EngineRequest* r = running_[i];
    const std::int64_t n = std::min(r->num_tokens - r->num_computed, budget);
    bool self_preempted = false;
    while (!grow(*r, r->num_computed + n)) {
      if (policy_->release_pin_under_pressure(running_.size(), /*growing=*/true) &&
          evict_one_pin(0))
        continue;
      const std::size_t victim = policy_->pick_victim(running_);
      EngineRequest* v = running_[victim];
      budget += v->scheduled_tokens;
      preempt(victim);
      preempted_any = true;
      if (v == r) {
        self_preempted = true;
        break;
      }
      if (victim < i) --i;
    }
    if (self_preempted) continue;
    r->scheduled_tokens = n;
    budget -= n;
    scheduled_.push_back(r);
    ++i;
  }

  // Then waiting requests, strictly from the head, unless this step preempted.
  if (!preempted_any) {
    while (!waiting_.empty() && budget > 0 &&
           static_cast<std::int64_t>(running_.size()) < max_num_seqs_) {
      // What the GPU pool evicted so far (growing running requests, admitting others) is on
      // the host before the next lookup, as vLLM's write-through stores would have it.
      store_evicted_blocks();
      const std::size_t next = policy_->pick_next(waiting_);
      EngineRequest* r = waiting_[next];
      // A request back from a host load holds its prefix's blocks already (vLLM does not
      // look it up again).
      const bool loaded = r->host_loaded;
      // A pinned program's blocks stay referenced by the pin until the request is admitted:
      // the lookup finds them, and they count as taken, not free, in the fit below.
      const std::vector<BlockId>& cached = loaded ? r->blocks : find_cached_prefix(*r);
      const std::int64_t hit_tokens = static_cast<std::int64_t>(cached.size()) * block_size_;
      // Host tier: the blocks after the GPU prefix that host memory holds are loaded, not
      // computed. The request takes GPU blocks for them now and waits outside the queue
      // until the load is done; admission goes on with the requests behind it (vLLM's
      // asynchronous load, WAITING_FOR_REMOTE_KVS).
      const std::int64_t host_blocks =
          host_ && !loaded ? host_prefix_blocks(*r, static_cast<std::int64_t>(cached.size())) : 0;
      const std::int64_t n = host_blocks > 0 ? 0 : std::min(r->num_tokens - hit_tokens, budget);
      auto blocks_from_free = [&] {
        std::int64_t from_free =
            blocks_needed(hit_tokens + n) + host_blocks - static_cast<std::int64_t>(cached.size());
        if (!loaded)
          for (BlockId b : cached) from_free += pool_.is_free(b);
        return from_free;
      };
      bool fits = blocks_from_free() <= pool_.num_free();
      while (!fits && policy_->release_pin_under_pressure(running_.size(), /*growing=*/false) &&
             evict_one_pin(r->spec.program_key))
        fits = blocks_from_free() <= pool_.num_free();
      if (!fits) {
        // Requests back from a load hold blocks while they wait; with nothing running nothing
        // else will free any, so they let go of them (the contents stay cached on the GPU
        // until reused) and admission starts over.
        if (host_ && running_.empty() && release_loaded_holds()) continue;
        break;  // head-of-line: nothing behind it is tried in this step
      }
      waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(next));
      if (host_blocks > 0) {
        // Still waiting (waiting_per_program_ keeps counting it), now for its load.
        const auto gpu_blocks = static_cast<std::int64_t>(cached.size());
        for (BlockId b : cached) pool_.touch(b);
        r->blocks = cached;
        r->probed_prefix.clear();
        r->num_cached_blocks = gpu_blocks;
        grow(*r, hit_tokens + host_blocks * block_size_);
        for (std::int64_t b = 0; b < host_blocks; ++b)
          host_->pool.touch(block_hash(*r, gpu_blocks + b));
        counters_.prefix_cache_queries += static_cast<double>(r->num_tokens);
        counters_.prefix_cache_hits += static_cast<double>(hit_tokens);
        counters_.host_queries += static_cast<double>(r->num_tokens - hit_tokens);
        counters_.host_hit_tokens += static_cast<double>(host_blocks * block_size_);
        ++counters_.host_loads;
        counters_.host_load_blocks += static_cast<double>(host_blocks);
        r->host_loading = true;
        r->host_load_started = now;
        r->host_load_id =
            host_->link.start(now, static_cast<double>(host_blocks) * profile_.kv_bytes_per_block(),
                              /*tracked=*/true);
        loading_.push_back(r);
        continue;
      }
      if (--waiting_per_program_[r->spec.program_key] == 0)
        waiting_per_program_.erase(r->spec.program_key);
      if (!loaded)
        for (BlockId b : cached) pool_.touch(b);
      if (has_pin(r->spec.program_key)) {
        // The program's pinned KV is reused: the prefix above holds what it still needs.
        ++counters_.pins_reused;
        release_pin(r->spec.program_key);
      }
      if (!loaded) r->blocks = cached;
      r->probed_prefix.clear();
      r->num_cached_blocks = static_cast<std::int64_t>(r->blocks.size());
      r->num_computed = hit_tokens;
      grow(*r, hit_tokens + n);
      if (!loaded) {
        counters_.prefix_cache_queries += static_cast<double>(r->num_tokens);
        counters_.prefix_cache_hits += static_cast<double>(hit_tokens);
        if (host_) counters_.host_queries += static_cast<double>(r->num_tokens - hit_tokens);
      }
      r->host_loaded = false;
      if (!r->admitted_once) {
        r->admitted_once = true;
        r->timeline.cached_tokens = hit_tokens;
      }
      r->timeline.waiting_s += now - r->waiting_since;
      r->running = true;
      r->admission_seq = next_admission_seq_++;
      running_.push_back(r);
      r->scheduled_tokens = n;
      budget -= n;
      scheduled_.push_back(r);
    }
  }

  store_evicted_blocks();
  if (scheduled_.empty()) return std::nullopt;
  BatchShape batch;
  for (EngineRequest* r : scheduled_) {
    batch.add(r->num_computed, r->scheduled_tokens);
    if (r->timeline.first_scheduled < 0) r->timeline.first_scheduled = now;
  }
  step_in_flight_ = true;
  step_started_ = now;
  step_duration_ = cost_.step_seconds(batch);
  return step_duration_;
}

StepOutcome EngineModel::finish_step() {
  if (!step_in_flight_) throw std::logic_error("finish_step without a step in flight");
  step_in_flight_ = false;
  const Seconds now = clock_.now();
  ++counters_.steps;
  counters_.busy_s += step_duration_;
  StepOutcome out;
  std::vector<RequestId> aborted;
  std::vector<EngineRequest*> done;
  for (EngineRequest* r : scheduled_) {
    const std::int64_t n = r->scheduled_tokens;
    r->scheduled_tokens = 0;
    if (r->aborted) {
      aborted.push_back(r->spec.id);
      continue;
    }
    const bool decode = n == 1 && r->num_computed == r->num_tokens - 1 && r->generated > 0;
    (decode ? r->timeline.decode_s : r->timeline.prefill_s) += step_duration_;
    if (!decode) {
      r->timeline.computed_prompt_tokens += n;
      counters_.prompt_tokens_computed += static_cast<double>(n);
    }
    r->num_computed += n;
    const std::int64_t full = r->num_computed / block_size_;
    for (std::int64_t b = r->num_cached_blocks; b < full; ++b)
      pool_.cache(r->blocks[static_cast<std::size_t>(b)], block_hash(*r, b));
    r->num_cached_blocks = std::max(r->num_cached_blocks, full);
    if (r->num_computed >= r->num_tokens) {  // the step sampled a token
      ++r->generated;
      ++r->num_tokens;
      ++counters_.generation_tokens;
      if (r->timeline.first_token < 0) r->timeline.first_token = now;
      if (options_.token_events) out.tokens.push_back({r->spec.id, r->generated});
      if (r->generated >= r->spec.output_tokens) done.push_back(r);
    }
  }
  scheduled_.clear();
  for (EngineRequest* r : done) finish_request(*r, out);
  for (RequestId id : aborted) remove_request(id);
  return out;
}

void EngineModel::finish_request(EngineRequest& r, StepOutcome& out) {
  const Seconds now = clock_.now();
  r.timeline.finished = now;
  running_.erase(std::find(running_.begin(), running_.end(), &r));
  r.running = false;
  const std::uint64_t key = r.spec.program_key;
  const Seconds ttl = (key != 0 && !r.spec.is_last_step) ? policy_->pin_ttl(r, now) : 0.0;
  if (ttl > 0) {
    release_pin(key);  // a program holds at most one pin
    pins_.emplace(key, Pin{std::move(r.blocks), now + ttl});
    r.blocks.clear();
    ++counters_.pins_created;
  } else {
    free_blocks(r);
  }
  policy_->on_finished(r, now);
  FinishedRequest f;
  f.id = r.spec.id;
  f.program_key = key;
  f.prompt_tokens = r.spec.prompt_tokens;
  f.output_tokens = r.generated;
  f.timeline = r.timeline;
  out.finished.push_back(std::move(f));
  requests_.erase(r.spec.id);
}

std::optional<Seconds> EngineModel::next_wakeup() const {
  std::optional<Seconds> earliest;
  if (!arriving_.empty()) earliest = arriving_.front().first;
  for (const auto& [key, pin] : pins_)
    if (!program_has_waiting(key) && (!earliest || pin.expires < *earliest)) earliest = pin.expires;
  if (!loading_.empty()) {
    // A load is done `latency` after its last byte; the link's next completion may be a
    // store or another load, after which the shares change: wake then and look again.
    auto consider = [&](std::optional<Seconds> t) {
      if (t && (!earliest || *t < *earliest)) earliest = t;
    };
    consider(host_->link.next_completion());
    for (const EngineRequest* r : loading_) consider(host_->link.done_at(r->host_load_id));
  }
  return earliest;
}

void EngineModel::on_timer() {
  release_expired_pins();
  collect_host_loads();
  collect_arrivals();
}

BackendMetrics EngineModel::metrics() const {
  BackendMetrics m;
  m.kv_usage = pool_.usage();
  m.num_running = num_running();
  m.num_waiting = num_waiting();
  m.num_gpu_blocks = pool_.num_blocks();
  m.block_size = block_size_;
  m.num_host_blocks = host_blocks_capacity();
  m.prefix_cache_queries = counters_.prefix_cache_queries;
  m.prefix_cache_hits = counters_.prefix_cache_hits;
  m.num_preemptions = counters_.preemptions;
  return m;
}

}  // namespace agentsched
