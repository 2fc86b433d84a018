#pragma once
// Plain-text tables for people: columns padded to their widest cell, numbers right-aligned.
#include <string>
#include <vector>

namespace agentsched::analysis {

class TextTable {
 public:
  // A header starting with '<' is left-aligned (the '<' is dropped); others right-aligned.
  explicit TextTable(std::vector<std::string> headers);
  void add_row(std::vector<std::string> cells);
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> left_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace agentsched::analysis
