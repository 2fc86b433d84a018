#pragma once
// Per-program profile kept by the router: for every call, how long it waited in the router
// (held by the policy), how long the backend took to its first and to its last byte, the
// tokens it used, and the time since the program's previous call ended (the program's own
// tool/user time). Times are on the router's clock (emulated seconds under --time-scale).
// Live programs are shown by /programs; with --profile-dir every call is appended to
// calls.csv as it ends and every program to programs.csv when it is released.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace agentsched {

struct CallRecord {
  std::int64_t index = 0;     // 1-based call number within the program
  std::int32_t backend = -1;  // -1: never reached a backend
  std::int32_t status = 0;    // HTTP status sent to the client; 499: client went away
  bool stream = false;
  bool retried = false;
  Seconds arrived = 0;    // router clock
  Seconds held_s = 0;     // arrival -> forwarded by the policy
  Seconds ttfb_s = 0;     // request sent to the backend -> its first response byte
  Seconds backend_s = 0;  // request sent to the backend -> its last response byte
  Seconds gap_s = -1;     // previous call's end -> this arrival; -1 for the first call
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

struct ProgramProfile {
  std::int64_t calls = 0;
  std::int64_t errors = 0;  // calls not answered 2xx
  Seconds held_s = 0;       // sums over calls
  Seconds ttfb_s = 0;
  Seconds backend_s = 0;
  Seconds gap_s = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  Seconds first_arrival = -1;
  Seconds last_end = -1;  // end of the latest call
  // The latest calls, oldest first once read through recent(); at most the store's limit.
  std::vector<CallRecord> ring;
  std::size_t ring_next = 0;

  std::vector<CallRecord> recent() const;
};

class ProfileStore {
 public:
  // `keep_calls`: call records kept per live program (older ones are in calls.csv only).
  explicit ProfileStore(std::size_t keep_calls = 256) : keep_calls_(keep_calls) {}
  ~ProfileStore();
  ProfileStore(const ProfileStore&) = delete;
  ProfileStore& operator=(const ProfileStore&) = delete;

  // Opens <dir>/calls.csv and <dir>/programs.csv (created, truncated) and writes headers.
  Status open(const std::string& dir);
  bool writing() const { return calls_ != nullptr; }

  // The call's index within its program and the gap since the previous call's end, taken
  // when the call arrives. `track` = false for anonymous single calls (no live profile).
  void on_arrival(std::string_view program_id, bool track, Seconds now, std::int64_t& index,
                  Seconds& gap_s);
  // A call ended (any outcome); `program_id` may be gone already (released meanwhile).
  void on_call_end(std::string_view program_id, const CallRecord& record, Seconds now);
  // The program left the router; `reason`: released, ttl, disconnect, shutdown.
  void on_release(std::string_view program_id, Seconds first_seen, Seconds last_activity,
                  std::string_view reason);

  const ProgramProfile* find(std::string_view program_id) const;
  std::size_t size() const { return profiles_.size(); }
  void flush();

  // CSV headers (docs/router.md describes the columns).
  static constexpr std::string_view kCallsHeader =
      "program_id,call,backend,status,stream,retried,arrived_s,held_s,ttfb_s,backend_s,gap_s,"
      "prompt_tokens,completion_tokens,total_tokens";
  static constexpr std::string_view kProgramsHeader =
      "program_id,calls,errors,held_s,ttfb_s,backend_s,gap_s,prompt_tokens,completion_tokens,"
      "first_seen_s,last_activity_s,end";

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::size_t keep_calls_;
  std::unordered_map<std::string, ProgramProfile, Hash, std::equal_to<>> profiles_;
  std::FILE* calls_ = nullptr;
  std::FILE* programs_ = nullptr;
  std::string line_;
};

// A CSV field: quoted (with doubled quotes) when it holds a comma, quote or line break.
std::string csv_field(std::string_view s);

}  // namespace agentsched
