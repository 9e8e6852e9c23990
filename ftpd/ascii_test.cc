#include "ftpd/ascii.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

std::string EncodeChunks(const std::vector<std::string>& chunks) {
  AsciiEncoder encoder;
  std::string out;
  for (const std::string& chunk : chunks) encoder.Encode(chunk, &out);
  return out;
}

std::string DecodeChunks(const std::vector<std::string>& chunks) {
  AsciiDecoder decoder;
  std::string out;
  for (const std::string& chunk : chunks) decoder.Decode(chunk, &out);
  decoder.Finish(&out);
  return out;
}

TEST(AsciiEncoderTest, LfBecomesCrLf) {
  EXPECT_EQ(EncodeChunks({"a\nb\n"}), "a\r\nb\r\n");
  EXPECT_EQ(EncodeChunks({"\n\n"}), "\r\n\r\n");
  EXPECT_EQ(EncodeChunks({"no newline"}), "no newline");
  EXPECT_EQ(EncodeChunks({""}), "");
}

TEST(AsciiEncoderTest, ExistingCrLfAndLoneCrUntouched) {
  EXPECT_EQ(EncodeChunks({"dos\r\nline\r\n"}), "dos\r\nline\r\n");
  EXPECT_EQ(EncodeChunks({"a\rb\n"}), "a\rb\r\n");
  EXPECT_EQ(EncodeChunks({"\r\r\n"}), "\r\r\n");
}

TEST(AsciiEncoderTest, CrLfSplitAcrossChunks) {
  // CR ends one chunk, LF starts the next: still one CRLF.
  EXPECT_EQ(EncodeChunks({"line\r", "\nnext\n"}), "line\r\nnext\r\n");
  // LF at the start of a chunk after a chunk that did not end in CR.
  EXPECT_EQ(EncodeChunks({"line", "\n"}), "line\r\n");
  // An empty chunk in between does not lose the CR.
  EXPECT_EQ(EncodeChunks({"x\r", "", "\n"}), "x\r\n");
  // After Reset a new transfer starts clean.
  AsciiEncoder encoder;
  std::string out;
  encoder.Encode("a\r", &out);
  encoder.Reset();
  encoder.Encode("\n", &out);
  EXPECT_EQ(out, "a\r\r\n");
}

TEST(AsciiEncoderTest, EightBitBytesPassThrough) {
  EXPECT_EQ(EncodeChunks({"\xC3\xA9\xFF\n"}), "\xC3\xA9\xFF\r\n");
  const std::string binary("\x00\xFF\n\x80", 4);
  EXPECT_EQ(EncodeChunks({binary}), std::string("\x00\xFF\r\n\x80", 5));
}

TEST(AsciiDecoderTest, CrLfBecomesLf) {
  EXPECT_EQ(DecodeChunks({"a\r\nb\r\n"}), "a\nb\n");
  EXPECT_EQ(DecodeChunks({"\r\n\r\n"}), "\n\n");
  EXPECT_EQ(DecodeChunks({""}), "");
}

TEST(AsciiDecoderTest, LoneCrAndLfKept) {
  EXPECT_EQ(DecodeChunks({"a\rb"}), "a\rb");
  EXPECT_EQ(DecodeChunks({"a\nb"}), "a\nb");
  EXPECT_EQ(DecodeChunks({"\r\r\n"}), "\r\n");
  EXPECT_EQ(DecodeChunks({"end\r"}), "end\r");  // Finish releases the CR
}

TEST(AsciiDecoderTest, CrLfSplitAcrossChunks) {
  EXPECT_EQ(DecodeChunks({"line\r", "\nnext\r\n"}), "line\nnext\n");
  EXPECT_EQ(DecodeChunks({"a\r", "b"}), "a\rb");
  EXPECT_EQ(DecodeChunks({"a\r", "\r", "\n"}), "a\r\n");
  EXPECT_EQ(DecodeChunks({"\r", "", "\n"}), "\n");
}

TEST(AsciiDecoderTest, HeldBackCrComesOutFirst) {
  AsciiDecoder decoder;
  char out[AsciiDecoder::MaxOutput(2)];
  EXPECT_EQ(decoder.Decode(std::span<const char>("ab\r", 3), out), 2u);
  // The CR from the last chunk plus both new bytes: MaxOutput(2) == 3.
  const size_t n = decoder.Decode(std::span<const char>("xy", 2), out);
  EXPECT_EQ(std::string(out, n), "\rxy");
  EXPECT_EQ(decoder.Finish(out), 0u);
}

// Every way of cutting an input into two or three chunks gives the same
// output as converting it whole, and never more than MaxOutput per call.
TEST(AsciiTest, ChunkingNeverChangesTheResult) {
  std::mt19937 rng(42);
  const char alphabet[] = {'a', '\r', '\n', 'b', '\xFF'};
  for (int round = 0; round < 200; ++round) {
    std::string input;
    const int length = static_cast<int>(rng() % 12);
    for (int i = 0; i < length; ++i) input.push_back(alphabet[rng() % sizeof(alphabet)]);
    const std::string encoded = EncodeChunks({input});
    const std::string decoded = DecodeChunks({input});
    for (size_t i = 0; i <= input.size(); ++i) {
      for (size_t j = i; j <= input.size(); ++j) {
        const std::vector<std::string> chunks = {input.substr(0, i), input.substr(i, j - i),
                                                 input.substr(j)};
        EXPECT_EQ(EncodeChunks(chunks), encoded) << i << "," << j;
        EXPECT_EQ(DecodeChunks(chunks), decoded) << i << "," << j;
      }
    }
    // Per-call bounds, with raw buffers.
    AsciiEncoder encoder;
    AsciiDecoder decoder;
    std::vector<char> out(AsciiEncoder::MaxOutput(input.size()) + 1);
    EXPECT_LE(encoder.Encode(std::span<const char>(input.data(), input.size()), out.data()),
              AsciiEncoder::MaxOutput(input.size()));
    EXPECT_LE(decoder.Decode(std::span<const char>(input.data(), input.size()), out.data()),
              AsciiDecoder::MaxOutput(input.size()));
  }
}

TEST(AsciiTest, RoundTripOfUnixText) {
  // Text without CR survives a download-upload round trip unchanged.
  const std::string text = "first line\n\nthird \xE2\x9C\x93 line\nno final newline";
  const std::string wire = EncodeChunks({text.substr(0, 7), text.substr(7)});
  EXPECT_EQ(wire, "first line\r\n\r\nthird \xE2\x9C\x93 line\r\nno final newline");
  EXPECT_EQ(DecodeChunks({wire.substr(0, 11), wire.substr(11, 1), wire.substr(12)}), text);
}

}  // namespace
}  // namespace tpslab::ftpd
