// TYPE A (ASCII) line-ending conversion for the data connection.
//
// FTP's ASCII type sends lines ending in CRLF whatever the hosts use
// (RFC 959 3.1.1.1). Files here end lines in LF, so a download converts
// LF -> CRLF and an upload CRLF -> LF. Both directions stream: data arrives
// and leaves in chunks of any size, and a CR at the end of one chunk followed
// by an LF at the start of the next is handled like a CRLF inside one chunk.
//
//   AsciiEncoder encoder;                 // one per transfer
//   char out[2 * sizeof(chunk)];          // AsciiEncoder::MaxOutput(n)
//   size_t n = encoder.Encode(chunk, out);
//   send(out, n);
//
//   AsciiDecoder decoder;
//   size_t n = decoder.Decode(received, out);   // out: MaxOutput(received.size())
//   write(file, out, n);
//   n = decoder.Finish(out);                    // at end of stream
//   write(file, out, n);
//
// Only line ends change: other bytes (including 8-bit ones; RFC 2640) pass
// through. Neither class allocates; they are one flag each.
#ifndef TPSLAB_FTPD_ASCII_H_
#define TPSLAB_FTPD_ASCII_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace tpslab::ftpd {

// LF -> CRLF, for sending. An LF already preceded by CR (also across chunks)
// is left alone, so a file stored with CRLF is not sent with CRCRLF. A lone
// CR is sent as is.
class AsciiEncoder {
 public:
  // The most bytes Encode() writes for `n` input bytes.
  static constexpr size_t MaxOutput(size_t n) { return 2 * n; }

  // Converts `in` into `out`, which must hold MaxOutput(in.size()) bytes.
  // Returns the number of bytes written.
  size_t Encode(std::span<const char> in, char* out);
  // Converts `in` and appends the result to `*out`.
  void Encode(std::string_view in, std::string* out);

  // Forgets the previous chunk, for a new transfer.
  void Reset() { last_was_cr_ = false; }

 private:
  bool last_was_cr_ = false;  // the last byte of the previous chunk was CR
};

// CRLF -> LF, for receiving. A CR not followed by LF (a lone CR, or the
// last byte of the stream) is kept. A CR at the end of a chunk is held back
// until the next chunk (or Finish) shows what follows it.
class AsciiDecoder {
 public:
  // The most bytes Decode() writes for `n` input bytes (a held-back CR from
  // the previous chunk may come out first).
  static constexpr size_t MaxOutput(size_t n) { return n + 1; }

  // Converts `in` into `out`, which must hold MaxOutput(in.size()) bytes.
  // Returns the number of bytes written.
  size_t Decode(std::span<const char> in, char* out);
  // Converts `in` and appends the result to `*out`.
  void Decode(std::string_view in, std::string* out);

  // Ends the stream: writes a held-back CR (if any) to `out` (room for one
  // byte) and returns how many bytes were written, 0 or 1.
  size_t Finish(char* out);
  // Ends the stream, appending a held-back CR to `*out`.
  void Finish(std::string* out);

  // Forgets any held-back CR, for a new transfer.
  void Reset() { pending_cr_ = false; }

 private:
  bool pending_cr_ = false;  // a CR ended the previous chunk
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_ASCII_H_
