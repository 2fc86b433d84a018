// Port lists (live/kv_sampler.h): `sample --ports 8000,8001`, typed by hand or built by
// `experiment`. A list that parses holds one port in 1..65535 per comma-separated item, and
// joined back with commas parses to the same list; an error names the bad item.
#include <string>

#include "fuzz_util.h"
#include "live/kv_sampler.h"

using namespace agentsched::serve;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = agentsched::fuzz::as_view(data, size);
  const auto ports = parse_port_list(text);
  if (!ports) {
    const std::string& m = ports.error().message;
    FUZZ_CHECK(m == "no ports given" || m.rfind("invalid port '", 0) == 0);
    return 0;
  }
  std::size_t items = 1;
  for (char c : text) items += c == ',' ? 1 : 0;
  FUZZ_CHECK(ports->size() == items);
  std::string joined;
  for (std::uint16_t p : *ports) {
    FUZZ_CHECK(p >= 1);
    joined += (joined.empty() ? "" : ",") + std::to_string(p);
  }
  const auto back = parse_port_list(joined);
  FUZZ_CHECK(back && *back == *ports);
  return 0;
}
