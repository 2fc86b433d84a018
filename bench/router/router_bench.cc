// What `agentsched router` costs in front of an engine, measured as ratios within one run on
// loopback: the same load goes straight to a minimal backend and then through the router.
//
//  1. latency:    one connection, sequential 40 KB chat requests; the router's added median
//                 (target: under 40 us)
//  2. throughput: 64 keep-alive connections for a fixed time; requests/s straight to the
//                 backend and through the router, and their ratio (target: at least 0.5 x
//                 direct, on the 2-core test machine, which the load generator and the backend
//                 share). The router's CPU per request is printed too: on a machine other work
//                 is loading (the load average is printed first) the ratio follows the
//                 scheduler, the CPU per request does not.
//  3. streaming:  SSE events stamped by the backend when sent; the delay the router adds to
//                 each (target: within 1 ms)
//  4. memory:     the router's resident set with 10,000 tracked programs (target: < 64 MB)
//
// The backend runs on its own thread in this process (it answers a canned completion with
// usage, streams stamped events, and serves a vLLM /metrics); the router is the real binary,
// started as a child process. Usage: bench_router [--agentsched PATH] [--seconds S] ...
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http/byte_buffer.h"
#include "http/http1_parse.h"

extern char** environ;

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using agentsched::http::ByteBuffer;
using boost::system::error_code;
namespace http = agentsched::http;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// ------------------------------------------------------------------ minimal backend
const std::string kCompletion =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":0,"model":"bench",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":10000,"completion_tokens":2,"total_tokens":10002}})";
const std::string kMetrics =
    "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"bench\"} 0.1\n"
    "vllm:num_requests_running{engine=\"0\",model_name=\"bench\"} 1.0\n"
    "vllm:num_requests_waiting{engine=\"0\",model_name=\"bench\"} 0.0\n"
    "vllm:cache_config_info{block_size=\"16\",engine=\"0\",num_gpu_blocks=\"10000\"} 1.0\n";

std::string full_response(const std::string& type, const std::string& body) {
  return fmt::format("HTTP/1.1 200 OK\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n{}", type,
                     body.size(), body);
}

class MiniBackend {
 public:
  MiniBackend(int stream_events, double stream_gap_ms)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        completion_(full_response("application/json", kCompletion)),
        metrics_(full_response("text/plain", kMetrics)),
        events_(stream_events),
        gap_(std::chrono::microseconds(static_cast<std::int64_t>(stream_gap_ms * 1000))) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~MiniBackend() {
    asio::post(io_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Conn {
    explicit Conn(tcp::socket s)
        : socket(std::move(s)), in(64 * 1024), timer(socket.get_executor()) {}
    tcp::socket socket;
    ByteBuffer in;
    http::MessageHead head;
    std::string out;
    asio::steady_timer timer;
    int left = 0;
  };
  using ConnPtr = std::shared_ptr<Conn>;

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (ec) return;
      error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      auto c = std::make_shared<Conn>(std::move(s));
      read(c);
      accept();
    });
  }

  void read(const ConnPtr& c) {
    c->in.reserve_writable(32 * 1024);
    c->socket.async_read_some(asio::buffer(c->in.write_ptr(), c->in.writable()),
                              [this, c](error_code ec, std::size_t n) {
                                if (ec) return;
                                c->in.commit(n);
                                process(c);
                              });
  }

  void process(const ConnPtr& c) {
    std::string_view err;
    if (http::parse_request_head(c->in.data(), c->head, err) != http::ParseResult::kComplete)
      return read(c);
    const std::size_t total = c->head.head_size + c->head.content_length.value_or(0);
    if (c->in.size() < total) {
      c->in.reserve_writable(total - c->in.size());
      return read(c);
    }
    const std::string_view body = c->in.data().substr(c->head.head_size, total - c->head.head_size);
    const bool stream = body.find("\"stream\":true") != std::string_view::npos;
    const bool metrics = c->head.target == "/metrics";
    c->in.consume(total);
    if (stream) return start_stream(c);
    const std::string& out = metrics ? metrics_ : completion_;
    asio::async_write(c->socket, asio::buffer(out), [this, c](error_code ec, std::size_t) {
      if (!ec) process(c);
    });
  }

  void start_stream(const ConnPtr& c) {
    c->left = events_;
    c->out =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
    asio::async_write(c->socket, asio::buffer(c->out), [this, c](error_code ec, std::size_t) {
      if (!ec) next_event(c);
    });
  }

  void next_event(const ConnPtr& c) {
    c->timer.expires_after(gap_);
    c->timer.async_wait([this, c](error_code ec) {
      if (ec) return;
      std::string event;
      if (c->left-- > 0) {
        event = fmt::format(
            R"(data: {{"t":{},"object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":"tok "}}}}]}})"
            "\n\n",
            now_ns());
      } else {
        event =
            R"(data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":)" +
            std::to_string(events_) + R"(,"total_tokens":)" + std::to_string(events_ + 5) +
            "}}\n\ndata: [DONE]\n\n";
      }
      c->out = fmt::format("{:x}\r\n{}\r\n", event.size(), event);
      const bool last = c->left < 0;
      if (last) c->out += "0\r\n\r\n";
      asio::async_write(c->socket, asio::buffer(c->out),
                        [this, c, last](error_code ec, std::size_t) {
                          if (ec) return;
                          if (last)
                            process(c);
                          else
                            next_event(c);
                        });
    });
  }

  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::string completion_, metrics_;
  int events_;
  std::chrono::steady_clock::duration gap_;
  std::thread thread_;
};

// ------------------------------------------------------------------ router process
class RouterProcess {
 public:
  RouterProcess(const std::string& binary, std::uint16_t backend_port) {
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> argv = {
        binary,          "router",
        "--port",        "0",
        "--backends",    fmt::format("http://127.0.0.1:{}", backend_port),
        "--program-ttl", "0"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    std::string line;
    char ch;
    pollfd p{fds[0], POLLIN, 0};
    while (poll(&p, 1, 20000) > 0 && read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(fds[0]);
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) == 0)
      port_ = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
  }
  ~RouterProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::uint16_t port() const { return port_; }
  // User and system CPU seconds used so far, from /proc.
  std::pair<double, double> cpu_seconds() const {
    std::ifstream in(fmt::format("/proc/{}/stat", pid_));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stod(f);
      if (i == 15) stime = std::stod(f);
    }
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    return {utime / tick, stime / tick};
  }
  // Resident and peak resident set, in MiB, from /proc.
  std::pair<double, double> memory_mib() const {
    std::ifstream in(fmt::format("/proc/{}/status", pid_));
    std::string line;
    double rss = 0, hwm = 0;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024;
      if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024;
    }
    return {rss, hwm};
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// ------------------------------------------------------------------ load generator
std::string chat_body(std::size_t bytes, const std::string& job_id) {
  std::string body = R"({"model":"bench","job_id":")" + job_id +
                     R"(","max_tokens":64,"messages":[{"role":"system","content":"You are a )"
                     R"(customer service agent. Follow the policy."})";
  int turn = 0;
  while (body.size() + 200 < bytes) {
    std::string content = fmt::format("turn {}: ", turn);
    const std::size_t want = std::min<std::size_t>(1500, bytes - body.size() - 150);
    while (content.size() < want) content += "the order #W2378156 \\\"shipped\\\" ok; ";
    body +=
        fmt::format(R"(,{{"role":"{}","content":"{}"}})", turn % 2 ? "assistant" : "user", content);
    ++turn;
  }
  body += "]}";
  return body;
}

std::string chat_request(const std::string& body) {
  return fmt::format(
      "POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
      "content-length: {}\r\n\r\n{}",
      body.size(), body);
}

struct LoadResult {
  std::uint64_t done = 0;
  std::uint64_t errors = 0;
  std::vector<double> latency_s;
  double seconds = 0;
};

// `connections` keep-alive connections, each sending requests[i % size] back to back, for
// `seconds` after `warmup` (or exactly `count` requests in all when count > 0).
class LoadGenerator {
 public:
  LoadGenerator(std::uint16_t port, int connections, std::vector<std::string> requests,
                double warmup, double seconds, std::uint64_t count = 0, bool keep_latency = true)
      : port_(port),
        requests_(std::move(requests)),
        warmup_(warmup),
        seconds_(seconds),
        count_(count),
        keep_latency_(keep_latency) {
    for (int i = 0; i < connections; ++i) conns_.push_back(std::make_shared<Conn>(io_, i));
  }

  LoadResult run() {
    start_ = SteadyClock::now();
    measure_from_ = start_ + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(warmup_));
    stop_at_ = measure_from_ + std::chrono::duration_cast<SteadyClock::duration>(
                                   std::chrono::duration<double>(seconds_));
    for (auto& c : conns_) connect(c);
    io_.run();
    result_.seconds =
        count_ ? std::chrono::duration<double>(SteadyClock::now() - start_).count() : seconds_;
    return std::move(result_);
  }

 private:
  struct Conn {
    Conn(asio::io_context& io, int i) : socket(io), in(16 * 1024), index(i) {}
    tcp::socket socket;
    ByteBuffer in;
    http::MessageHead head;
    int index;
    std::size_t next = 0;
    SteadyClock::time_point sent;
  };
  using ConnPtr = std::shared_ptr<Conn>;

  void connect(const ConnPtr& c) {
    c->socket.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                            [this, c](error_code ec) {
                              if (ec) {
                                ++result_.errors;
                                return;
                              }
                              error_code ignored;
                              c->socket.set_option(tcp::no_delay(true), ignored);
                              send(c);
                            });
  }

  void send(const ConnPtr& c) {
    if (count_ ? issued_ >= count_ : SteadyClock::now() >= stop_at_) return;
    ++issued_;
    const std::string& req = requests_[(c->index + c->next++ * conns_.size()) % requests_.size()];
    c->sent = SteadyClock::now();
    asio::async_write(c->socket, asio::buffer(req), [this, c](error_code ec, std::size_t) {
      if (ec) {
        ++result_.errors;
        return;
      }
      read(c);
    });
  }

  void read(const ConnPtr& c) {
    c->in.reserve_writable(8 * 1024);
    c->socket.async_read_some(
        asio::buffer(c->in.write_ptr(), c->in.writable()), [this, c](error_code ec, std::size_t n) {
          if (ec) {
            ++result_.errors;
            return;
          }
          c->in.commit(n);
          std::string_view err;
          if (http::parse_response_head(c->in.data(), c->head, err) != http::ParseResult::kComplete)
            return read(c);
          const std::size_t total = c->head.head_size + c->head.content_length.value_or(0);
          if (c->in.size() < total) return read(c);
          const auto now = SteadyClock::now();
          if (c->head.status != 200) ++result_.errors;
          if (count_ || (c->sent >= measure_from_ && now <= stop_at_)) {
            ++result_.done;
            if (keep_latency_)
              result_.latency_s.push_back(std::chrono::duration<double>(now - c->sent).count());
          }
          c->in.consume(total);
          send(c);
        });
  }

  asio::io_context io_{1};
  std::uint16_t port_;
  std::vector<std::string> requests_;
  double warmup_, seconds_;
  std::uint64_t count_;
  bool keep_latency_;
  std::uint64_t issued_ = 0;
  std::vector<ConnPtr> conns_;
  SteadyClock::time_point start_, measure_from_, stop_at_;
  LoadResult result_;
};

// Per-event delays (receive time minus the backend's send stamp) of `requests` streams.
std::vector<double> stream_delays(std::uint16_t port, int requests) {
  std::vector<double> delays;
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  s.set_option(tcp::no_delay(true));
  const std::string body =
      R"({"job_id":"stream","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})";
  for (int r = 0; r < requests; ++r) {
    asio::write(s, asio::buffer(chat_request(body)));
    ByteBuffer in(64 * 1024);
    http::MessageHead head;
    std::string_view err;
    http::ChunkedDecoder dechunk;
    std::string events;
    bool head_done = false, done = false;
    while (!done) {
      in.reserve_writable(16 * 1024);
      const std::size_t n = s.read_some(asio::buffer(in.write_ptr(), in.writable()));
      const std::int64_t t = now_ns();
      in.commit(n);
      if (!head_done) {
        if (http::parse_response_head(in.data(), head, err) != http::ParseResult::kComplete)
          continue;
        head_done = true;
        in.consume(head.head_size);
      }
      std::vector<std::string_view> pieces;
      http::ChunkedDecoder::Status st;
      in.consume(dechunk.feed(in.data(), pieces, st));
      for (auto p : pieces) events.append(p);
      done = st != http::ChunkedDecoder::Status::kMore;
      for (std::size_t pos; (pos = events.find("\n\n")) != std::string::npos;) {
        const std::string event = events.substr(0, pos);
        events.erase(0, pos + 2);
        const auto at = event.find("\"t\":");
        if (at != std::string::npos)
          delays.push_back(static_cast<double>(t - std::stoll(event.substr(at + 4))) / 1e9);
      }
    }
  }
  return delays;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Router overhead benchmark (see the comment at the top of router_bench.cc)"};
  std::string binary = AGENTSCHED_BINARY;
  double seconds = 5, warmup = 1;
  int connections = 64, body_kb = 40, latency_requests = 4000, programs = 10000;
  int stream_requests = 6, stream_events = 50;
  double stream_gap_ms = 2;
  app.add_option("--agentsched", binary, "agentsched binary")->capture_default_str();
  app.add_option("--seconds", seconds, "Measured seconds per throughput run")
      ->capture_default_str();
  app.add_option("--warmup", warmup, "Warm-up seconds before each throughput run")
      ->capture_default_str();
  app.add_option("--connections", connections, "Connections of the throughput run")
      ->capture_default_str();
  app.add_option("--body-kb", body_kb, "Chat request body size in KB")->capture_default_str();
  app.add_option("--latency-requests", latency_requests, "Sequential requests per latency run")
      ->capture_default_str();
  app.add_option("--programs", programs, "Programs tracked for the memory figure")
      ->capture_default_str();
  app.add_option("--stream-requests", stream_requests, "Streams per streaming run")
      ->capture_default_str();
  app.add_option("--stream-events", stream_events, "Events per stream")->capture_default_str();
  app.add_option("--stream-gap-ms", stream_gap_ms, "Milliseconds between stream events")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  MiniBackend backend(stream_events, stream_gap_ms);
  RouterProcess router(binary, backend.port());
  if (router.port() == 0) {
    fmt::print(stderr, "router did not start ({})\n", binary);
    return 1;
  }
  const auto [rss0, hwm0] = router.memory_mib();
  const std::size_t body_bytes = static_cast<std::size_t>(body_kb) * 1000;
  std::vector<std::string> requests;
  for (int i = 0; i < connections; ++i)
    requests.push_back(chat_request(chat_body(body_bytes, fmt::format("bench:{}", i))));
  std::string load = "?";
  if (std::ifstream f("/proc/loadavg"); f) std::getline(f, load);
  fmt::print(
      "router benchmark: {} B chat bodies, backend :{} (in-process), router :{} (child "
      "process), {} hardware threads, load average {}\n\n",
      requests[0].size(), backend.port(), router.port(), std::thread::hardware_concurrency(), load);

  // 1. Latency at one connection, direct and through the router, interleaved in rounds.
  std::vector<double> direct_lat, router_lat;
  for (int round = 0; round < 4; ++round) {
    for (int via = 0; via < 2; ++via) {
      const std::uint16_t port = via ? router.port() : backend.port();
      LoadGenerator warm(port, 1, {requests[0]}, 0, 0, 200, false);
      warm.run();
      LoadGenerator g(port, 1, {requests[0]}, 0, 0,
                      static_cast<std::uint64_t>(latency_requests / 4));
      auto r = g.run();
      auto& into = via ? router_lat : direct_lat;
      into.insert(into.end(), r.latency_s.begin(), r.latency_s.end());
    }
  }
  const double d50 = percentile(direct_lat, 0.5), r50 = percentile(router_lat, 0.5);
  const double d99 = percentile(direct_lat, 0.99), r99 = percentile(router_lat, 0.99);

  // 2. Throughput at `connections` connections.
  auto direct_tp =
      LoadGenerator(backend.port(), connections, requests, warmup, seconds, 0, false).run();
  const auto cpu0 = router.cpu_seconds();
  auto router_tp =
      LoadGenerator(router.port(), connections, requests, warmup, seconds, 0, false).run();
  const auto cpu1 = router.cpu_seconds();
  // CPU over the warm-up and the measured seconds, per request completed in that time.
  const double tp_requests =
      static_cast<double>(router_tp.done) * (warmup + seconds) / std::max(seconds, 1e-9);
  const double user_us = (cpu1.first - cpu0.first) / tp_requests * 1e6;
  const double sys_us = (cpu1.second - cpu0.second) / tp_requests * 1e6;
  const double cores = (cpu1.first - cpu0.first + cpu1.second - cpu0.second) / (warmup + seconds);
  const double direct_rps = static_cast<double>(direct_tp.done) / direct_tp.seconds;
  const double router_rps = static_cast<double>(router_tp.done) / router_tp.seconds;

  // 3. Streaming: per-event delay.
  auto sd = stream_delays(backend.port(), stream_requests);
  auto sr = stream_delays(router.port(), stream_requests);

  // 4. Memory with `programs` tracked programs (small bodies; each a distinct job_id).
  std::vector<std::string> small;
  for (int i = 0; i < programs; ++i)
    small.push_back(chat_request(fmt::format(
        R"({{"model":"bench","job_id":"tau2:retail:{}:5f0c2a9e-1b7d-4c55-9a0e-{:012d}","messages":[{{"role":"user","content":"hello"}}]}})",
        i, i)));
  auto mem_run = LoadGenerator(router.port(), connections, small, 0, 0,
                               static_cast<std::uint64_t>(programs), false)
                     .run();
  const auto [rss1, hwm1] = router.memory_mib();

  const auto us = [](double s) { return s * 1e6; };
  const auto ms = [](double s) { return s * 1e3; };
  fmt::print("| figure | direct | via router | router adds / ratio | target | met |\n");
  fmt::print("|---|---:|---:|---:|---:|:-:|\n");
  fmt::print("| latency p50, 1 connection (us) | {:.1f} | {:.1f} | +{:.1f} | < +40 | {} |\n",
             us(d50), us(r50), us(r50 - d50), r50 - d50 < 40e-6 ? "yes" : "NO");
  fmt::print("| latency p99, 1 connection (us) | {:.1f} | {:.1f} | +{:.1f} | | |\n", us(d99),
             us(r99), us(r99 - d99));
  fmt::print("| throughput, {} connections (req/s) | {:.0f} | {:.0f} | {:.2f}x | >= 0.5x | {} |\n",
             connections, direct_rps, router_rps, router_rps / direct_rps,
             router_rps >= 0.5 * direct_rps ? "yes" : "NO");
  fmt::print(
      "| router CPU per request at {} connections (us, user + system) | | {:.1f} + {:.1f} | "
      "{:.2f} cores busy | | |\n",
      connections, user_us, sys_us, cores);
  fmt::print("| stream event delay p50 (ms) | {:.3f} | {:.3f} | +{:.3f} | | |\n",
             ms(percentile(sd, 0.5)), ms(percentile(sr, 0.5)),
             ms(percentile(sr, 0.5) - percentile(sd, 0.5)));
  fmt::print("| stream event delay p99 (ms) | {:.3f} | {:.3f} | +{:.3f} | < 1 ms | {} |\n",
             ms(percentile(sd, 0.99)), ms(percentile(sr, 0.99)),
             ms(percentile(sr, 0.99) - percentile(sd, 0.99)),
             percentile(sr, 0.99) < 1e-3 ? "yes" : "NO");
  fmt::print("| stream event delay max (ms) | {:.3f} | {:.3f} | | | |\n", ms(percentile(sd, 1)),
             ms(percentile(sr, 1)));
  fmt::print(
      "| router RSS (MiB): start -> {} programs tracked (peak) | | {:.1f} -> {:.1f} ({:.1f}) | | < "
      "64 | {} |\n",
      programs + connections + 1, rss0, rss1, hwm1, rss1 < 64 ? "yes" : "NO");
  const std::uint64_t errors = direct_tp.errors + router_tp.errors + mem_run.errors;
  fmt::print(
      "\nrequests: latency {} + {}, throughput {} + {}, streams {} + {} events, memory {}; errors "
      "{}\n",
      direct_lat.size(), router_lat.size(), direct_tp.done, router_tp.done, sd.size(), sr.size(),
      mem_run.done, errors);
  return errors ? 1 : 0;
}
