// Fuzz target: the frame decoder over every supported link type. The first
// input byte picks the link type, the rest is the frame. Besides "does not
// crash" (ASan/UBSan) it aborts when a decoded segment breaks an invariant:
// the payload must lie inside the frame and be no longer than the payload
// length the IP header announces.
//
// Runs as //analyzer/pcap:packet_decoder_fuzz_test through
// //common/testing:fuzz_main (corpus in testdata/decoder_corpus/), or under
// libFuzzer with clang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "analyzer/pcap/packet_decoder.h"

namespace tpslab::analyzer::pcap {
namespace {

constexpr int kLinkTypes[] = {kLinkNull,     kLinkEthernet, kLinkRaw,  kLinkRaw101,    kLinkLoop,
                              kLinkLinuxSll, kLinkIpv4,     kLinkIpv6, kLinkLinuxSll2, 147};

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace
}  // namespace tpslab::analyzer::pcap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpslab::analyzer::pcap;
  if (size == 0) return 0;
  const int link_type = kLinkTypes[data[0] % (sizeof(kLinkTypes) / sizeof(kLinkTypes[0]))];
  const std::span<const uint8_t> frame(data + 1, size - 1);
  TcpSegment segment;
  const DecodeResult result = DecodeFrame(link_type, frame, &segment);
  Check(!DecodeResultName(result).empty(), "every result has a name");
  if (result == DecodeResult::kOk) {
    const auto* begin = reinterpret_cast<const char*>(frame.data());
    Check(segment.payload.data() >= begin, "payload starts inside the frame");
    Check(segment.payload.data() + segment.payload.size() <= begin + frame.size(),
          "payload ends inside the frame");
    Check(segment.payload.size() <= segment.payload_length, "payload within IP length");
    Check(segment.src.version == 4 || segment.src.version == 6, "IP version 4 or 6");
    Check(!segment.src.ToString().empty(), "address formats");
  }
  return 0;
}
