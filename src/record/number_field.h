#pragma once
// A number field of the run-folder formats the readers share: the whole text, an optional
// leading '+', no blanks (std::from_chars).
#include <charconv>
#include <string_view>
#include <system_error>

namespace agentsched {

template <typename Number>
bool parse_number_field(std::string_view text, Number& out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  if (*begin == '+') ++begin;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace agentsched
