// The reference's model config (http/endpoint.h), read by `drive --model-config FILE`.
// A config that parses lists only usable endpoints (host, port in range, no path), maps
// experts only to listed models, and written back in the same format reads back the same;
// every error names the file.
#include <boost/json.hpp>
#include <string>

#include "fuzz_util.h"
#include "http/endpoint.h"

namespace json = boost::json;
using namespace agentsched::serve;

namespace {

std::string render(const ModelConfig& c) {
  json::object root;
  for (const auto& [name, endpoints] : c.models) {
    json::array list;
    for (const HttpEndpoint& e : endpoints)
      list.push_back(json::object{{"ip_addr", e.host}, {"port", e.port}});
    root[name] = std::move(list);
  }
  if (!c.oss_expert_mapping.empty()) {
    json::object mapping;
    for (const auto& [from, to] : c.oss_expert_mapping) mapping[from] = to;
    root["oss_expert_mapping"] = std::move(mapping);
  }
  return json::serialize(root);
}

bool same(const ModelConfig& a, const ModelConfig& b) {
  if (a.oss_expert_mapping != b.oss_expert_mapping || a.models.size() != b.models.size())
    return false;
  for (const auto& [name, endpoints] : a.models) {
    const auto it = b.models.find(name);
    if (it == b.models.end() || it->second.size() != endpoints.size()) return false;
    for (std::size_t i = 0; i < endpoints.size(); ++i)
      if (endpoints[i].host != it->second[i].host || endpoints[i].port != it->second[i].port ||
          endpoints[i].base_path != it->second[i].base_path)
        return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto c = parse_model_config(agentsched::fuzz::as_view(data, size), "fuzz.json");
  if (!c) {
    FUZZ_CHECK(c.error().message.rfind("fuzz.json: ", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(!c->models.count("oss_expert_mapping"));
  for (const auto& [name, endpoints] : c->models) {
    FUZZ_CHECK(!endpoints.empty());
    FUZZ_CHECK(c->served_model(name) == name);
    for (const HttpEndpoint& e : endpoints) {
      FUZZ_CHECK(!e.host.empty() && e.port >= 1 && e.base_path.empty());
      const auto back = parse_endpoint_url(e.url());
      FUZZ_CHECK(back && back->host == e.host && back->port == e.port);
    }
  }
  for (const auto& [from, to] : c->oss_expert_mapping) {
    FUZZ_CHECK(c->models.count(to));
    const std::string served = c->served_model(from);
    FUZZ_CHECK(served == from || served == to);
  }
  const auto again = parse_model_config(render(*c), "rendered.json");
  FUZZ_CHECK(again);
  FUZZ_CHECK(same(*c, *again));
  return 0;
}
