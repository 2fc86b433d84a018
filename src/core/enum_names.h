#pragma once
// The names of an enum's values, both ways, from one table: printing (name) and parsing
// (value) read the same pairs, so they cannot disagree.
//
//   constexpr EnumNames<Color, 2> kColorNames({{Color::kRed, "red"}, {Color::kBlue, "blue"}});
//   kColorNames.name(Color::kRed)  // "red"
//   kColorNames.value("blue")      // Color::kBlue; nullopt for a name not in the table
//   kColorNames.list()             // "red or blue" (for messages)
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace agentsched {

template <typename E, std::size_t N>
class EnumNames {
 public:
  struct Entry {
    E value{};
    std::string_view name;
  };

  constexpr explicit EnumNames(const Entry (&entries)[N]) {
    for (std::size_t i = 0; i < N; ++i) entries_[i] = entries[i];
  }

  // The value's name; "?" for a value the table lacks.
  constexpr std::string_view name(E value) const {
    for (const Entry& e : entries_)
      if (e.value == value) return e.name;
    return "?";
  }
  constexpr std::optional<E> value(std::string_view name) const {
    for (const Entry& e : entries_)
      if (e.name == name) return e.value;
    return std::nullopt;
  }
  // "a, b or c".
  std::string list() const {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
      if (i > 0) out += i + 1 == N ? " or " : ", ";
      out += entries_[i].name;
    }
    return out;
  }

 private:
  std::array<Entry, N> entries_{};
};

}  // namespace agentsched
