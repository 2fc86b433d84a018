#include "live/kv_sampler.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/time_format.h"
#include "http/client.h"
#include "http/clock_timer.h"
#include "http/live_http.h"
#include "http/prometheus.h"
#include "record/run_layout.h"
#include "record/run_status.h"

namespace agentsched::serve {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c == ',' ? ';' : c;
  }
  return out;
}

std::string metric_with_labels(const http::PrometheusSample& s) {
  if (s.labels.empty()) return s.name;
  std::string out = s.name + "{";
  bool first = true;
  for (const auto& [k, v] : s.labels) {
    if (!first) out += ';';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label(v);
    out += '"';
  }
  out += '}';
  return out;
}

// Whether a file holds any line after its header.
bool holds_samples(int fd) {
  char buf[4096];
  std::size_t newlines = 0;
  bool any_after_first = false;
  ssize_t n;
  off_t offset = 0;
  while ((n = ::pread(fd, buf, sizeof buf, offset)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      if (newlines >= 1 && buf[i] != '\n') any_after_first = true;
      if (buf[i] == '\n') ++newlines;
    }
    if (any_after_first) return true;
    offset += n;
  }
  return any_after_first;
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool process_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

std::vector<KvRow> kv_rows_from_metrics(std::string_view text) {
  const http::PrometheusText parsed = http::parse_prometheus_text(text);
  std::vector<KvRow> rows;
  for (std::string_view name :
       {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"}) {
    for (const http::PrometheusSample* s : http::find_samples(parsed, name))
      rows.push_back({metric_with_labels(*s), s->value});
    if (!rows.empty()) break;
  }
  return rows;
}

Result<std::vector<std::uint16_t>> parse_port_list(std::string_view text) {
  std::vector<std::uint16_t> ports;
  if (text.empty()) return make_error("no ports given");
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc{} || p != item.data() + item.size() || v == 0 || v > 65535)
      return make_error(fmt::format("invalid port '{}' (expected 1-65535)", item));
    ports.push_back(static_cast<std::uint16_t>(v));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return ports;
}

Result<int> open_sample_file(const fs::path& path, bool force) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(fmt::format("cannot open '{}': {}", path.string(), std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return make_error(fmt::format(
        "'{}' is being written by another sampler (it holds the file's lock); stop that "
        "sampler first -- two samplers must never share a CSV",
        path.string()));
  }
  if (holds_samples(fd)) {
    if (!force) {
      ::close(fd);
      return make_error(fmt::format(
          "'{}' already holds KV samples (of another run?); refusing to append to it -- "
          "choose a new file, remove it, or pass --force to replace it",
          path.string()));
    }
  }
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0 ||
      !write_all(fd, fmt::format("{}\n", run_layout::kKvCsvHeader))) {
    ::close(fd);
    return make_error(fmt::format("cannot write '{}': {}", path.string(), std::strerror(errno)));
  }
  return fd;
}

bool sample_file_in_use(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases our lock if we got it
  return locked;
}

Result<SamplerResult> run_sampler(const SamplerOptions& o) {
  if (o.ports.empty()) return make_error("sample: no ports given");
  if (!(o.interval_s > 0)) return make_error("sample: --interval must be positive");
  auto fd = open_sample_file(o.out, o.force);
  if (!fd) return fd.error();
  const int out = *fd;

  const auto own_clock =
      o.clock ? nullptr : std::make_unique<ScaledClock>(o.time_scale, o.clock_origin_unix);
  const Clock& clock = o.clock ? *o.clock : *own_clock;
  const double origin_unix = own_clock ? own_clock->origin_unix() : o.clock_origin_unix.value_or(0);
  asio::io_context io(1);
  SamplerResult result;
  std::string write_error;
  const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(o.request_timeout_s));
  const double start = clock.now();

  auto loop = [&]() -> awaitable<void> {
    std::vector<std::unique_ptr<http::HttpClient>> clients;
    for (std::size_t i = 0; i < o.ports.size(); ++i)
      clients.push_back(std::make_unique<http::HttpClient>(io.get_executor()));
    const std::string get = "GET", target = "/metrics", empty;
    bool last_round = false;
    // Ticks on the run's grid: multiples of the interval since the clock's origin.
    double tick = std::ceil(clock.now() / o.interval_s) * o.interval_s;
    for (;;) {
      co_await sleep_until(clock, tick);
      std::string rows;
      for (std::size_t i = 0; i < o.ports.size(); ++i) {
        HttpEndpoint e{o.host, o.ports[i], ""};
        auto r = co_await timed_request(*clients[i], e, get, target, empty, timeout);
        const double unix_t = origin_unix + clock.now();
        const std::string prefix = fmt::format("{},{},{},", format_iso8601(unix_t),
                                               static_cast<long long>(unix_t), o.ports[i]);
        std::vector<KvRow> kv;
        if (r && r->status == 200) kv = kv_rows_from_metrics(r->body);
        if (kv.empty()) {
          if (r && r->status == 200) clients[i]->close();
          rows += prefix + "vllm:kv_cache_usage_perc,NaN\n";
          ++result.nan_rows;
          ++result.rows;
        }
        for (const KvRow& row : kv) {
          rows += fmt::format("{}{},{:.6g}\n", prefix, row.metric, row.value);
          ++result.rows;
        }
      }
      ++result.ticks;
      if (!write_all(out, rows)) {
        write_error = fmt::format("cannot write '{}': {}", o.out.string(), std::strerror(errno));
        co_return;
      }
      if (last_round) co_return;
      // Stop conditions, checked between samples.
      if (o.stop_requested && o.stop_requested()) {
        result.stop_reason = "stopped by a signal";
        co_return;
      }
      if (o.watch_pid > 0 && !process_alive(o.watch_pid)) {
        result.stop_reason = fmt::format("process {} (the run) is gone", o.watch_pid);
        co_return;
      }
      if (o.duration_s > 0 && clock.now() - start >= o.duration_s) {
        result.stop_reason = "duration reached";
        co_return;
      }
      if (!o.run_dir.empty()) {
        auto st = read_run_status(o.run_dir);
        if (st && st->state != "running") {
          result.stop_reason = fmt::format("the run in '{}' is {}", o.run_dir.string(), st->state);
          last_round = true;
        }
      }
      // Next tick on the grid; ticks missed while a port was slow are skipped, not bunched.
      tick += o.interval_s;
      const double now = clock.now();
      if (tick <= now) tick = (std::floor(now / o.interval_s) + 1) * o.interval_s;
    }
  };
  // Signals are polled between samples too, so stopping is prompt at any interval.
  asio::steady_timer poll(io);
  bool loop_done = false;
  std::function<void(boost::system::error_code)> on_poll = [&](boost::system::error_code ec) {
    if (ec || loop_done) return;
    if (o.stop_requested && o.stop_requested()) {
      if (result.stop_reason.empty()) result.stop_reason = "stopped by a signal";
      io.stop();
      return;
    }
    poll.expires_after(std::chrono::milliseconds(100));
    poll.async_wait(on_poll);
  };
  asio::co_spawn(io, loop(), [&](std::exception_ptr) {
    loop_done = true;
    poll.cancel();
  });
  poll.expires_after(std::chrono::milliseconds(100));
  poll.async_wait(on_poll);
  run_on_clock(io, clock, o.advance_clock);
  ::close(out);
  if (!write_error.empty()) return make_error(write_error);
  return result;
}

}  // namespace agentsched::serve
