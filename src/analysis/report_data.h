#pragma once
// Data files built into the binary (src/analysis/CMakeLists.txt embeds them as profiles/*.toml
// are): the reference study's figures (data/reference-study.toml) and the prose of the
// fidelity report (data/fidelity-report.md). Both are checked when read, with errors naming
// the file and what is wrong.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace agentsched::analysis {

// docs/reference-study.md section 5: active window at 70% KV usage.
struct ReferenceResult {
  std::string system;
  int concurrency = 0;
  double tasks_per_min = 0;
  double steps_per_s = 0;
};

// docs/reference-study.md section 3: orchestrator calls (ms).
struct ReferenceCallLatencies {
  double p10 = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  double decode_p50 = 0, prefill_p50 = 0;
};

struct ReferenceStudy {
  std::vector<ReferenceResult> results;  // in file order
  ReferenceCallLatencies call_latency_ms;
};

// Parses the TOML of data/reference-study.toml: [[result]] tables (system, concurrency,
// tasks_per_min, steps_per_s; one per system and concurrency) and [call_latency_ms]. Every key
// is required, unknown keys are errors, numbers must be finite and positive.
Result<ReferenceStudy> parse_reference_study(std::string_view toml_text, std::string_view origin);
// The built-in data/reference-study.toml, parsed once.
Result<ReferenceStudy> builtin_reference_study();

// A text template: named sections ("@@ NAME" lines start them) with {{name}} placeholders.
class TextTemplate {
 public:
  static Result<TextTemplate> parse(std::string_view text, std::string origin);
  // Section `name` with its placeholders replaced from `values`; a missing section, a
  // placeholder without a value or an unclosed one is an error.
  Result<std::string> fill(std::string_view name,
                           const std::map<std::string, std::string>& values = {}) const;

 private:
  std::string origin_;
  std::map<std::string, std::string, std::less<>> sections_;
};

// The built-in data/fidelity-report.md.
Result<TextTemplate> builtin_fidelity_template();

}  // namespace agentsched::analysis
