#include "synthetic_run.h"

#include <fmt/format.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "core/time_format.h"

namespace agentsched::bench {

namespace {

constexpr const char* kOrchestrator = "/workspace/ckpt/nvidia/Nemotron-Orchestrator-8B";
constexpr const char* kDomains[] = {"retail", "telecom", "airline"};

class BufferedFile {
 public:
  explicit BufferedFile(const std::filesystem::path& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) throw std::runtime_error("cannot write " + path.string());
  }
  ~BufferedFile() {
    flush();
    std::fclose(file_);
  }
  fmt::memory_buffer& buffer() { return buffer_; }
  void maybe_flush() {
    if (buffer_.size() > (1u << 20)) flush();
  }
  std::size_t bytes() const { return written_ + buffer_.size(); }

 private:
  void flush() {
    std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    written_ += buffer_.size();
    buffer_.clear();
  }
  std::FILE* file_;
  fmt::memory_buffer buffer_;
  std::size_t written_ = 0;
};

// Small deterministic generator (splitmix64), so the files are the same on every machine.
struct Mix {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

}  // namespace

SyntheticRunSize write_synthetic_run(const std::filesystem::path& run_dir,
                                     std::size_t driver_lines) {
  std::filesystem::create_directories(run_dir / "logs");
  SyntheticRunSize size;
  Mix mix{42};
  const double start = kVirtualEpochUnix;
  // About 111 lines per task; 64 tasks in flight; ~0.09 s between lines.
  const double seconds_per_line = 0.09;
  {
    BufferedFile driver(run_dir / "driver.log");
    BufferedFile global(run_dir / "logs/tau2_global.log");
    auto& d = driver.buffer();
    fmt::format_to(std::back_inserter(d), "[{}] Scheduling mode: global (cross-domain)\n",
                   format_datetime(start));
    fmt::format_to(std::back_inserter(d),
                   "[{}] Scheduling mode: global (round-robin) total_tasks=4000 "
                   "max_concurrency=64\n",
                   format_datetime(start));
    size.driver_lines = 2;
    // Per task, a 9-line cycle of steps user->agent, agent->env, env->agent, agent->user and calls.
    const int kInFlight = 64;
    std::size_t next_task = 0;
    int step[kInFlight] = {};
    std::size_t task_of[kInFlight];
    for (int i = 0; i < kInFlight; ++i) task_of[i] = next_task++;
    double t = start + 5.0;
    std::string stamp;
    while (size.driver_lines < driver_lines) {
      const int slot = static_cast<int>(mix.next() % kInFlight);
      const std::size_t task = task_of[slot];
      const char* domain = kDomains[task % 3];
      const std::size_t task_id = task / 3;
      const int s = ++step[slot];
      t += seconds_per_line * 2 * mix.uniform();
      stamp = format_datetime_ms(t);
      const std::size_t before = d.size();
      const std::size_t thread = 139871203423936ULL + static_cast<std::size_t>(slot) * 8392704;
      // 9-line cycle ~ 4 steps, 2 llm calls, 1.3 user calls, 1 expert call, 1 tool call.
      switch (s % 9) {
        case 0:
          fmt::format_to(std::back_inserter(d),
                         "[USER_JUDGE] {} task={}:{} thread={} type=user_sim step={} "
                         "model=gpt-5 call_type=openai duration_ms={:.2f}\n",
                         stamp, domain, task_id, thread, s, 2000 + 20000 * mix.uniform());
          break;
        case 1:
        case 5:
          fmt::format_to(std::back_inserter(d),
                         "[PROFILE] {} task={}:{} thread={} type=step_complete step={} "
                         "total_duration_ms={:.2f} from_role={} to_role=agent\n",
                         stamp, domain, task_id, thread, s, 10000 * mix.uniform(),
                         s % 9 == 1 ? "user" : "env");
          break;
        case 2:
        case 6:
          fmt::format_to(std::back_inserter(d),
                         "[PROFILE] {} task={}:{} thread={} type=llm_call step={} model={} "
                         "call_type=vllm duration_ms={:.2f} input_tokens={} output_tokens={} "
                         "has_tool_calls=True\n",
                         stamp, domain, task_id, thread, s, kOrchestrator,
                         2000 + 60000 * mix.uniform() * mix.uniform(), 6000 + mix.next() % 16000,
                         50 + mix.next() % 400);
          break;
        case 3:
          fmt::format_to(std::back_inserter(d),
                         "[PROFILE] {} task={}:{} thread={} type=tool_call step={} "
                         "function=find_user_id_by_name_zip call_type=local_function "
                         "duration_ms={:.2f}\n",
                         stamp, domain, task_id, thread, s, 3 * mix.uniform());
          break;
        case 4:
          fmt::format_to(std::back_inserter(d),
                         "[PROFILE] {} task={}:{} thread={} type=step_complete step={} "
                         "total_duration_ms={:.2f} from_role=agent to_role=env\n",
                         stamp, domain, task_id, thread, s, 60000 * mix.uniform());
          break;
        case 7:
          fmt::format_to(std::back_inserter(d),
                         "[PROFILE] {} task={}:{} thread={} type=expert_call step={} "
                         "model=openai/gpt-oss-20b call_type=vllm duration_ms={:.2f} "
                         "input_tokens={} output_tokens={}\n",
                         stamp, domain, task_id, thread, s, 600 + 5000 * mix.uniform(),
                         5000 + mix.next() % 9000, 40 + mix.next() % 300);
          break;
        case 8:
          fmt::format_to(std::back_inserter(d),
                         "[PROFILE] {} task={}:{} thread={} type=step_complete step={} "
                         "total_duration_ms={:.2f} from_role=agent to_role=user\n",
                         stamp, domain, task_id, thread, s, 30000 * mix.uniform());
          break;
      }
      // The global log holds the same profile lines.
      global.buffer().append(d.data() + before, d.data() + d.size());
      ++size.driver_lines;
      if (s >= 108 && size.driver_lines + 2 <= driver_lines) {
        // Task done: the FINISHED line (sometimes glued after debug text) and its summary.
        fmt::format_to(std::back_inserter(d),
                       "{}{} | INFO     | tau2.run:run_task:569 - FINISHED SIMULATION: Domain: "
                       "{}, Task: {}, Agent: LLMAgent, User: UserSimulator. Reward: 1.0\n",
                       task % 7 == 0 ? "DEBUG: tool schema refreshed" : "", stamp, domain, task_id);
        fmt::format_to(std::back_inserter(d),
                       "[TAU2_TASK_COMPLETE] domain={} trial=0 task_id={} status=ok "
                       "completed_global={} total_global=4000\n",
                       domain, task_id, size.tasks + 1);
        size.driver_lines += 2;
        ++size.tasks;
        task_of[slot] = next_task++;
        step[slot] = 0;
      }
      driver.maybe_flush();
      global.maybe_flush();
    }
    size.driver_bytes = driver.bytes();
    size.global_bytes = global.bytes();
    const double end = t;

    BufferedFile kv(run_dir / "kv_cache_timeseries.csv");
    auto& k = kv.buffer();
    k.append(std::string_view("ts_iso,ts_unix,port,metric,value\n"));
    // Busy from 10 minutes in until 85% of the run, then a near-idle tail.
    for (double ts = start; ts <= end + 60; ts += 5.0) {
      const double f = (ts - start) / (end - start);
      const double usage = ts - start < 600 ? 0.3 * (ts - start) / 600
                           : f < 0.85       ? 0.72 + 0.27 * mix.uniform()
                                            : 0.02 + 0.02 * mix.uniform();
      fmt::format_to(std::back_inserter(k),
                     "{},{:.0f},8000,vllm:kv_cache_usage_perc{{engine=\"0\";model_name=\"{}\"}},"
                     "{:.4f}\n",
                     format_iso8601(ts), ts, kOrchestrator, usage);
      ++size.kv_rows;
      kv.maybe_flush();
    }
  }
  return size;
}

}  // namespace agentsched::bench
