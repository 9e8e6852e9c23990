#include "ftpd/ascii.h"

#include <cstring>

namespace tpslab::ftpd {

size_t AsciiEncoder::Encode(std::span<const char> in, char* out) {
  const char* p = in.data();
  const char* const end = in.data() + in.size();
  size_t written = 0;
  while (p < end) {
    const void* found = std::memchr(p, '\n', static_cast<size_t>(end - p));
    if (found == nullptr) {
      const size_t run = static_cast<size_t>(end - p);
      std::memcpy(out + written, p, run);
      written += run;
      last_was_cr_ = end[-1] == '\r';
      return written;
    }
    const char* lf = static_cast<const char*>(found);
    const size_t run = static_cast<size_t>(lf - p);
    std::memcpy(out + written, p, run);
    written += run;
    const bool after_cr = run > 0 ? lf[-1] == '\r' : last_was_cr_;
    if (!after_cr) out[written++] = '\r';
    out[written++] = '\n';
    last_was_cr_ = false;
    p = lf + 1;
  }
  return written;
}

void AsciiEncoder::Encode(std::string_view in, std::string* out) {
  const size_t old_size = out->size();
  out->resize(old_size + MaxOutput(in.size()));
  const size_t written =
      Encode(std::span<const char>(in.data(), in.size()), out->data() + old_size);
  out->resize(old_size + written);
}

size_t AsciiDecoder::Decode(std::span<const char> in, char* out) {
  const char* p = in.data();
  const char* const end = in.data() + in.size();
  size_t written = 0;
  while (p < end) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (*p == '\n') {
        out[written++] = '\n';
        ++p;
        continue;
      }
      out[written++] = '\r';  // a lone CR stays
    }
    const void* found = std::memchr(p, '\r', static_cast<size_t>(end - p));
    const char* cr = found != nullptr ? static_cast<const char*>(found) : end;
    const size_t run = static_cast<size_t>(cr - p);
    std::memcpy(out + written, p, run);
    written += run;
    if (cr == end) break;
    pending_cr_ = true;
    p = cr + 1;
  }
  return written;
}

void AsciiDecoder::Decode(std::string_view in, std::string* out) {
  const size_t old_size = out->size();
  out->resize(old_size + MaxOutput(in.size()));
  const size_t written =
      Decode(std::span<const char>(in.data(), in.size()), out->data() + old_size);
  out->resize(old_size + written);
}

size_t AsciiDecoder::Finish(char* out) {
  if (!pending_cr_) return 0;
  pending_cr_ = false;
  out[0] = '\r';
  return 1;
}

void AsciiDecoder::Finish(std::string* out) {
  char cr;
  if (Finish(&cr) == 1) out->push_back(cr);
}

}  // namespace tpslab::ftpd
