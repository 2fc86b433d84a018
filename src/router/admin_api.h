#pragma once
// The router's own endpoints (docs/router.md, "Endpoints"): GET /health, /programs,
// /programs/<id>, /backends, /metrics, /status, /dashboard and POST /programs/release (the
// only state-changing one, behind the admin token when one is set). handle_admin() turns a
// request into a complete answer without any socket, reading and acting through AdminHost.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/gateway.h"
#include "record/router_profile.h"
#include "router/backend_health.h"
#include "router/metrics.h"

namespace agentsched::serve {

// What the admin API reads and changes in the router.
class AdminHost {
 public:
  virtual ~AdminHost() = default;
  virtual Gateway& gateway() = 0;
  virtual const ProfileStore& profiles() const = 0;
  virtual std::vector<BackendStatus> backend_statuses() const = 0;
  virtual std::string_view backend_type() const = 0;  // "vllm" or "sglang"
  virtual std::string metrics_text() = 0;
  virtual std::string status_text() = 0;
  virtual ErrorCounters& errors() = 0;
  // Ends a program (reason "released"); false when the router does not know it.
  virtual bool release_program(const std::string& id) = 0;
  virtual Seconds now() const = 0;
};

struct LocalResponse {
  int status = 200;
  std::string body;
  std::string_view content_type = "application/json";
  std::string_view extra_headers;  // each field ending in CRLF
};

// Whether `path` (no query) is one of the router's own endpoints.
bool is_admin_path(std::string_view path);

// Answers a request to an admin path. `authorization`: the request's Authorization field;
// `admin_token`: "" when the management endpoints are open.
LocalResponse handle_admin(AdminHost& host, std::string_view method, std::string_view path,
                           std::string_view body, std::optional<std::string_view> authorization,
                           std::string_view admin_token);

// The JSON documents, for the dashboard and tests.
std::string programs_json(Gateway& gw, const ProfileStore& profiles, Seconds now);
std::string program_json(const ProgramState& p, const ProfileStore& profiles);
std::string backends_json(const Gateway& gw, const std::vector<BackendStatus>& backends,
                          std::string_view backend_type);
// The program id of a release request's body ({"job_id": ...} or {"program_id": ...}, a
// string or an integer); "" when there is none.
std::string release_target(std::string_view body);

}  // namespace agentsched::serve
