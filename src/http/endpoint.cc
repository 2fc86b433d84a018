#include "http/endpoint.h"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace agentsched::serve {

namespace json = boost::json;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Result<std::uint16_t> parse_port(std::string_view text, std::string_view what) {
  unsigned value = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || value == 0 ||
      value > 65535)
    return make_error(fmt::format("{}: invalid port '{}' (expected 1-65535)", what, text));
  return static_cast<std::uint16_t>(value);
}

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// Where `text` stops being a URL path (RFC 3986 segments: pchar, '/', %HH escapes), or npos.
// A query or fragment is refused too: the request targets are appended to this base.
std::size_t bad_path_char(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return i;
      i += 2;
    } else if (!is_unreserved(c) &&
               std::string_view("!$&'()*+,;=:@/").find(c) == std::string_view::npos) {
      return i;
    }
  }
  return std::string_view::npos;
}

// An IPv6 address as written between brackets, with an optional %zone.
bool is_ipv6_literal(std::string_view text) {
  const std::size_t percent = text.find('%');
  if (percent != std::string_view::npos) {
    const std::string_view zone = text.substr(percent + 1);
    if (zone.empty() || !std::all_of(zone.begin(), zone.end(), is_unreserved)) return false;
  }
  const std::string_view address = text.substr(0, percent);
  // inet_pton reads a C string: an embedded NUL would end the address early.
  if (address.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) return false;
  in6_addr out{};
  return ::inet_pton(AF_INET6, std::string(address).c_str(), &out) == 1;
}

// A character for an error message: itself when printable, else its code.
std::string shown(char c) {
  if (c > ' ' && c < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
}

}  // namespace

std::string HttpEndpoint::chat_completions_target() const {
  return ends_with(base_path, "/v1") ? base_path + "/chat/completions"
                                     : base_path + "/v1/chat/completions";
}

std::string HttpEndpoint::models_target() const {
  return ends_with(base_path, "/v1") ? base_path + "/models" : base_path + "/v1/models";
}

std::string HttpEndpoint::url() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", host, v6 ? "]" : "", port, base_path);
}

Result<HttpEndpoint> parse_endpoint_url(std::string_view url) {
  const std::string_view original = url;
  if (url.rfind("https://", 0) == 0)
    return make_error(fmt::format(
        "endpoint '{}': https is not supported; use plain http (a TLS-terminating proxy can "
        "sit in front)",
        original));
  if (url.rfind("http://", 0) == 0) url.remove_prefix(7);
  if (url.find("://") != std::string_view::npos)
    return make_error(fmt::format("endpoint '{}': only http:// URLs are supported", original));
  HttpEndpoint e;
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = url.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (const std::size_t bad = bad_path_char(path); bad != std::string_view::npos)
      return make_error(fmt::format(
          "endpoint '{}': {} at byte {} of the path (a base path takes no query, fragment, "
          "spaces or control characters; escape others as %HH)",
          original, shown(path[bad]), slash + bad + (original.size() - url.size())));
    e.base_path = std::string(path);
  }
  if (authority.empty()) return make_error(fmt::format("endpoint '{}': no host", original));
  std::string_view port_text;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return make_error(fmt::format("endpoint '{}': unclosed '[' in host", original));
    e.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return make_error(fmt::format("endpoint '{}': unexpected text after host", original));
      port_text = rest.substr(1);
    }
    if (!e.host.empty() && !is_ipv6_literal(e.host))
      return make_error(fmt::format(
          "endpoint '{}': '[{}]' is not an IPv6 address (brackets hold IPv6 addresses only)",
          original, e.host));
  } else {
    const std::size_t colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (e.host.find(':') != std::string::npos)
      return make_error(fmt::format(
          "endpoint '{}': an IPv6 address goes in brackets, e.g. http://[::1]:8000", original));
    for (char c : e.host)
      if (!is_unreserved(c))
        return make_error(fmt::format(
            "endpoint '{}': {} in host '{}' (expected a host name or an IPv4 address{})", original,
            shown(c), e.host, c == '@' ? "; user info is not supported" : ""));
  }
  if (e.host.empty()) return make_error(fmt::format("endpoint '{}': no host", original));
  if (!port_text.empty() || authority.back() == ':') {
    auto port = parse_port(port_text, fmt::format("endpoint '{}'", original));
    if (!port) return port.error();
    e.port = *port;
  }
  return e;
}

std::string ModelConfig::served_model(std::string_view name) const {
  if (auto it = models.find(std::string(name)); it != models.end() && !it->second.empty())
    return it->first;
  if (auto it = oss_expert_mapping.find(std::string(name)); it != oss_expert_mapping.end())
    if (auto m = models.find(it->second); m != models.end() && !m->second.empty()) return m->first;
  return {};
}

Result<ModelConfig> parse_model_config(std::string_view text, std::string_view origin) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return make_error(fmt::format("{}: invalid JSON: {}", origin, ec.message()));
  const auto* root = doc.if_object();
  if (!root) return make_error(fmt::format("{}: expected a JSON object of models", origin));
  ModelConfig config;
  for (const auto& [key, value] : *root) {
    const std::string name(key);
    if (name == "oss_expert_mapping") {
      const auto* map = value.if_object();
      if (!map)
        return make_error(fmt::format("{}: oss_expert_mapping: expected an object", origin));
      for (const auto& [from, to] : *map) {
        if (!to.is_string())
          return make_error(fmt::format("{}: oss_expert_mapping.{}: expected a model name string",
                                        origin, std::string(from)));
        config.oss_expert_mapping[std::string(from)] = std::string(to.get_string());
      }
      continue;
    }
    const auto* list = value.if_array();
    if (!list)
      return make_error(
          fmt::format("{}: '{}': expected a list of {{\"ip_addr\": ..., \"port\": ...}} endpoints",
                      origin, name));
    std::vector<HttpEndpoint> endpoints;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string where = fmt::format("{}: {}[{}]", origin, name, i);
      const auto* entry = (*list)[i].if_object();
      if (!entry) return make_error(fmt::format("{}: expected an object", where));
      const json::value* ip = entry->if_contains("ip_addr");
      const json::value* port = entry->if_contains("port");
      if (!ip || !ip->is_string())
        return make_error(fmt::format("{}: ip_addr: expected a string", where));
      std::string port_text;
      if (port && port->is_int64())
        port_text = std::to_string(port->get_int64());
      else if (port && port->is_uint64())
        port_text = std::to_string(port->get_uint64());
      else if (port && port->is_string())
        port_text = std::string(port->get_string());
      else
        return make_error(fmt::format("{}: port: expected an integer or a string", where));
      // ip_addr names the host alone (an http:// prefix is tolerated): the port has its own
      // key, and a path or a second port would be silently misread once the two are joined.
      std::string_view host = ip->get_string();
      if (host.rfind("http://", 0) == 0) host.remove_prefix(7);
      while (!host.empty() && host.back() == '/') host.remove_suffix(1);
      std::string authority(host);
      if (host.find('/') != std::string_view::npos)
        return make_error(fmt::format(
            "{}: ip_addr '{}': expected a host name or address (no path, no other scheme)", where,
            std::string_view(ip->get_string())));
      const bool bracketed = !host.empty() && host.front() == '[';
      if (bracketed ? host.back() != ']' : host.find(':') != std::string_view::npos) {
        if (bracketed || !is_ipv6_literal(host))
          return make_error(
              fmt::format("{}: ip_addr '{}': expected a host without a port (the port goes in "
                          "\"port\")",
                          where, std::string_view(ip->get_string())));
        authority = fmt::format("[{}]", host);
      }
      auto port_value = parse_port(port_text, fmt::format("{}: port", where));
      if (!port_value) return port_value.error();
      auto endpoint = parse_endpoint_url("http://" + authority);
      if (!endpoint) return make_error(fmt::format("{}: {}", where, endpoint.error().message));
      endpoint->port = *port_value;
      endpoints.push_back(std::move(*endpoint));
    }
    if (endpoints.empty())
      return make_error(fmt::format("{}: '{}': the endpoint list is empty", origin, name));
    config.models[name] = std::move(endpoints);
  }
  for (const auto& [from, to] : config.oss_expert_mapping)
    if (!config.models.count(to))
      return make_error(
          fmt::format("{}: oss_expert_mapping maps '{}' to '{}', which the config does not list",
                      origin, from, to));
  return config;
}

Result<ModelConfig> load_model_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(fmt::format("cannot read model config '{}'", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_model_config(ss.str(), path.string());
}

}  // namespace agentsched::serve
