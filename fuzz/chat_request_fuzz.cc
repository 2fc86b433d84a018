// Chat-completion bodies as the engine emulator reads them (emulator/chat_request.h): what any
// OpenAI client may send to `agentsched engine`.
#include "emulator/chat_request.h"
#include "fuzz_util.h"

using namespace agentsched::serve;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto r = parse_chat_request(agentsched::fuzz::as_view(data, size), "session");
  if (!r) {
    FUZZ_CHECK(!r.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(r->prompt_tokens >= 1);
  FUZZ_CHECK(r->prompt_tokens == tokens_for_text(r->prompt_text.size()));
  if (r->max_tokens) FUZZ_CHECK(*r->max_tokens >= 1);
  FUZZ_CHECK(r->min_tokens >= 0);
  (void)prompt_block_hashes(r->prompt_text);
  return 0;
}
