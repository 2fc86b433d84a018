// Endpoint URLs (http/endpoint.h): `drive --endpoint http://HOST:PORT[/PATH]`, typed by hand.
// An endpoint that parses has a host, a port in 1..65535 and request targets that are valid
// HTTP origin-forms, and renders to a URL that parses back to the same endpoint.
#include <string>

#include "fuzz_util.h"
#include "http/endpoint.h"

using namespace agentsched::serve;

namespace {

bool visible_ascii(char c) {
  return c > ' ' && c < 0x7f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url = agentsched::fuzz::as_view(data, size);
  const auto e = parse_endpoint_url(url);
  if (!e) {
    FUZZ_CHECK(!e.error().message.empty());
    FUZZ_CHECK(e.error().message.rfind("endpoint '", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(!e->host.empty() && e->port >= 1);
  for (char c : e->host)
    FUZZ_CHECK(visible_ascii(c) && c != '/' && c != '@' && c != '[' && c != ']' && c != '?' &&
               c != '#' && c != ',');
  FUZZ_CHECK(e->base_path.empty() || (e->base_path.front() == '/' && e->base_path.back() != '/'));
  for (const std::string& target : {e->chat_completions_target(), e->models_target()}) {
    FUZZ_CHECK(target.front() == '/');
    for (char c : target) FUZZ_CHECK(visible_ascii(c) && c != '?' && c != '#');
  }
  const std::string rendered = e->url();
  const auto back = parse_endpoint_url(rendered);
  FUZZ_CHECK(back);
  FUZZ_CHECK(back->host == e->host && back->port == e->port && back->base_path == e->base_path);
  FUZZ_CHECK(back->url() == rendered);
  return 0;
}
