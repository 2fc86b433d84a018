// Chunked transfer-coding decoder (http/http1_parse.h) over request and response bodies. The
// same input is decoded whole and in a split chosen by its first byte: the payload, the bytes
// consumed and the final status must not depend on the split.
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "http/http1_parse.h"

namespace {

using namespace agentsched::http;
using agentsched::fuzz::within;

struct Decoded {
  std::string payload;
  std::size_t consumed = 0;
  ChunkedDecoder::Status status = ChunkedDecoder::Status::kMore;
};

Decoded decode(const std::vector<std::string_view>& pieces) {
  ChunkedDecoder decoder;
  Decoded out;
  std::vector<std::string_view> payload;
  for (std::string_view piece : pieces) {
    payload.clear();
    const std::size_t used = decoder.feed(piece, payload, out.status);
    FUZZ_CHECK(used <= piece.size());
    for (std::string_view p : payload) {
      FUZZ_CHECK(within(p, piece.substr(0, used)));
      out.payload.append(p);
    }
    out.consumed += used;
    FUZZ_CHECK((out.status == ChunkedDecoder::Status::kDone) == decoder.done());
    if (out.status != ChunkedDecoder::Status::kMore) break;
    FUZZ_CHECK(used == piece.size());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes = agentsched::fuzz::as_view(data, size);
  const std::uint32_t seed = agentsched::fuzz::take_seed(bytes);
  const Decoded whole = decode({bytes});
  const Decoded split = decode(agentsched::fuzz::split(bytes, seed));
  FUZZ_CHECK(whole.status == split.status);
  FUZZ_CHECK(whole.payload == split.payload);
  FUZZ_CHECK(whole.consumed == split.consumed);
  FUZZ_CHECK(whole.payload.size() <= bytes.size());
  return 0;
}
