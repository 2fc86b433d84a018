#include "emulator/engine_server.h"

#include "core/enum_names.h"
#include "emulator/engine_server_impl.h"

namespace agentsched::serve {

namespace {
constexpr EnumNames<EngineFaultKind, kEngineFaultKinds> kEngineFaultNames(
    {{EngineFaultKind::kHttp500, "http500"},
     {EngineFaultKind::kClose, "close"},
     {EngineFaultKind::kStall, "stall"},
     {EngineFaultKind::kGarbageMetrics, "garbage-metrics"}});
}  // namespace

std::string_view engine_fault_name(EngineFaultKind kind) {
  return kEngineFaultNames.name(kind);
}

Result<EngineFault> parse_engine_fault(std::string_view spec) {
  auto bad = [spec](std::string_view why) {
    return make_error(
        fmt::format("--fault '{}': {} (expected KIND=EVERY: KIND one of {}; EVERY a positive "
                    "integer)",
                    spec, why, kEngineFaultNames.list()));
  };
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos) return bad("no '='");
  const std::string_view name = spec.substr(0, eq);
  const std::string_view every_text = spec.substr(eq + 1);
  const std::optional<EngineFaultKind> kind = kEngineFaultNames.value(name);
  if (!kind) return bad(fmt::format("unknown kind '{}'", name));
  std::int64_t every = 0;
  const auto [end, ec] =
      std::from_chars(every_text.data(), every_text.data() + every_text.size(), every);
  if (ec != std::errc{} || end != every_text.data() + every_text.size() || every_text.empty())
    return bad(fmt::format("EVERY '{}' is not an integer", every_text));
  if (every < 1) return bad(fmt::format("EVERY must be at least 1, got {}", every));
  return EngineFault{*kind, every};
}

EngineServer::EngineServer(asio::io_context& io, EngineServerOptions options) {
  if (!(options.time_scale > 0) || !std::isfinite(options.time_scale))
    throw std::runtime_error(
        fmt::format("--time-scale must be positive, got {}", options.time_scale));
  auto profile = load_profile(options.profile);
  if (!profile) throw std::runtime_error(profile.error().message);
  if (options.max_model_len > 0)
    profile->model.max_model_len = static_cast<int>(options.max_model_len);
  if (options.host_kv_gib >= 0)
    if (auto st = set_profile_field(*profile, "host.kv_gib", options.host_kv_gib); !st)
      throw std::runtime_error(fmt::format("--host-kv-gib: {}", st.error().message));
  auto policy = make_engine_policy(options.policy, options.policy_params);
  if (!policy) throw std::runtime_error(policy.error().message);
  std::array<std::int64_t, kEngineFaultKinds> fault_every{};
  for (const EngineFault& f : options.faults) {
    if (f.every < 1)
      throw std::runtime_error(fmt::format("--fault {}={}: EVERY must be at least 1",
                                           engine_fault_name(f.kind), f.every));
    auto& slot = fault_every[static_cast<std::size_t>(f.kind)];
    if (slot > 0)
      throw std::runtime_error(
          fmt::format("--fault {} given twice (one EVERY per kind)", engine_fault_name(f.kind)));
    slot = f.every;
  }
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(*profile),
                                 std::move(policy.value()));
  impl_->fault_every = fault_every;
  http::ServerOptions server_options;
  server_options.server_name = "agentsched-engine";
  impl_->server = std::make_unique<http::Server>(
      io.get_executor(),
      [weak = std::weak_ptr<Impl>(impl_)](http::Exchange& ex) {
        return handle_engine_request(weak.lock(), ex);
      },
      server_options);
}

EngineServer::~EngineServer() {
  impl_->stopped = true;
}

Status EngineServer::start() {
  if (auto st = impl_->server->listen(impl_->options.host, impl_->options.port); !st) return st;
  impl_->server->start();
  return Ok{};
}

std::uint16_t EngineServer::port() const {
  return impl_->server->port();
}

const EngineServerOptions& EngineServer::options() const {
  return impl_->options;
}

const Profile& EngineServer::profile() const {
  return impl_->profile;
}

void EngineServer::shutdown(std::function<void()> on_done) {
  impl_->shutdown(std::move(on_done));
}

BackendMetrics EngineServer::metrics() const {
  return impl_->engine.metrics();
}

std::string EngineServer::metrics_text() const {
  return impl_->render_metrics();
}

std::int64_t EngineServer::faults_injected(EngineFaultKind kind) const {
  return impl_->faults_injected[static_cast<std::size_t>(kind)];
}

int run_engine_server(const EngineServerOptions& options) {
  asio::io_context io(1);
  EngineServer server(io, options);
  http::ServerProcess process(io, "agentsched engine", server);
  const Profile& p = server.profile();
  std::fprintf(stderr,
               "agentsched engine: profile %s, policy %s, %lld KV blocks of %d tokens, "
               "max_model_len %d, time scale %g, fd limit %llu\n",
               p.name.c_str(), options.policy.c_str(),
               static_cast<long long>(server.metrics().num_gpu_blocks), p.engine.block_size,
               p.model.max_model_len, options.time_scale,
               static_cast<unsigned long long>(process.fd_limit()));
  for (const EngineFault& f : options.faults)
    std::fprintf(stderr, "agentsched engine: FAULT INJECTION (testing): %s every %lld\n",
                 std::string(engine_fault_name(f.kind)).c_str(), static_cast<long long>(f.every));
  process.run(options.host, server.port());
  return 0;
}

}  // namespace agentsched::serve
