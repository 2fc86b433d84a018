#include "record/router_profile.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace agentsched {

std::vector<CallRecord> ProgramProfile::recent() const {
  std::vector<CallRecord> out;
  out.reserve(ring.size());
  for (std::size_t i = 0; i < ring.size(); ++i) out.push_back(ring[(ring_next + i) % ring.size()]);
  return out;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

ProfileStore::~ProfileStore() {
  if (calls_) std::fclose(calls_);
  if (programs_) std::fclose(programs_);
}

Status ProfileStore::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(fmt::format("--profile-dir {}: {}", dir, ec.message()));
  const auto open_one = [&](const char* name, std::string_view header) -> std::FILE* {
    const std::string path = (std::filesystem::path(dir) / name).string();
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return nullptr;
    std::setvbuf(f, nullptr, _IOFBF, 1 << 16);
    std::fwrite(header.data(), 1, header.size(), f);
    std::fputc('\n', f);
    return f;
  };
  calls_ = open_one("calls.csv", kCallsHeader);
  programs_ = open_one("programs.csv", kProgramsHeader);
  if (!calls_ || !programs_)
    return make_error(
        fmt::format("--profile-dir {}: cannot create CSV files: {}", dir, std::strerror(errno)));
  return Ok{};
}

void ProfileStore::on_arrival(std::string_view program_id, bool track, Seconds now,
                              std::int64_t& index, Seconds& gap_s) {
  index = 1;
  gap_s = -1;
  if (!track) return;
  auto it = profiles_.find(program_id);
  if (it == profiles_.end())
    it = profiles_.emplace(std::string(program_id), ProgramProfile{}).first;
  ProgramProfile& p = it->second;
  index = p.calls + 1;
  ++p.calls;
  if (p.first_arrival < 0) p.first_arrival = now;
  if (p.last_end >= 0) {
    gap_s = std::max(0.0, now - p.last_end);
    p.gap_s += gap_s;
  }
}

void ProfileStore::on_call_end(std::string_view program_id, const CallRecord& r, Seconds now) {
  if (auto it = profiles_.find(program_id); it != profiles_.end()) {
    ProgramProfile& p = it->second;
    if (r.status < 200 || r.status > 299) ++p.errors;
    p.held_s += r.held_s;
    p.ttfb_s += r.ttfb_s;
    p.backend_s += r.backend_s;
    p.prompt_tokens += r.prompt_tokens;
    p.completion_tokens += r.completion_tokens;
    p.last_end = now;
    if (keep_calls_ > 0) {
      if (p.ring.size() < keep_calls_) {
        p.ring.push_back(r);
      } else {
        p.ring[p.ring_next] = r;
        p.ring_next = (p.ring_next + 1) % p.ring.size();
      }
    }
  }
  if (!calls_) return;
  line_ = csv_field(program_id);
  fmt::format_to(std::back_inserter(line_),
                 ",{},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{},{},{}\n", r.index,
                 r.backend, r.status, r.stream ? 1 : 0, r.retried ? 1 : 0, r.arrived, r.held_s,
                 r.ttfb_s, r.backend_s, r.gap_s, r.prompt_tokens, r.completion_tokens,
                 r.prompt_tokens + r.completion_tokens);
  std::fwrite(line_.data(), 1, line_.size(), calls_);
}

void ProfileStore::on_release(std::string_view program_id, Seconds first_seen,
                              Seconds last_activity, std::string_view reason) {
  auto it = profiles_.find(program_id);
  if (it == profiles_.end()) return;
  if (programs_) {
    const ProgramProfile& p = it->second;
    line_ = csv_field(program_id);
    fmt::format_to(std::back_inserter(line_),
                   ",{},{},{:.6f},{:.6f},{:.6f},{:.6f},{},{},{:.6f},{:.6f},{}\n", p.calls, p.errors,
                   p.held_s, p.ttfb_s, p.backend_s, p.gap_s, p.prompt_tokens, p.completion_tokens,
                   first_seen, last_activity, reason);
    std::fwrite(line_.data(), 1, line_.size(), programs_);
  }
  profiles_.erase(it);
}

const ProgramProfile* ProfileStore::find(std::string_view program_id) const {
  auto it = profiles_.find(program_id);
  return it == profiles_.end() ? nullptr : &it->second;
}

void ProfileStore::flush() {
  if (calls_) std::fflush(calls_);
  if (programs_) std::fflush(programs_);
}

}  // namespace agentsched
