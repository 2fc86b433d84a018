#pragma once
// The router's `GET /dashboard`: one self-contained HTML page (no external assets) whose
// script polls the router's own read-only JSON endpoints (/status, /backends, /programs) and
// renders backends, programs, the policy and request/error rates. The page is static: nothing
// from the request or the router's configuration is written into it, so it cannot leak the
// admin token or a client's Authorization header, and it offers no state-changing action.
#include <string_view>

namespace agentsched::serve {

// The page's bytes.
std::string_view dashboard_page();

// Response headers (CRLF-terminated lines) for the page: no caching, and a
// Content-Security-Policy that allows only the page's inline script and style and requests to
// the router itself.
std::string_view dashboard_headers();

}  // namespace agentsched::serve
