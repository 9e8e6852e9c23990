#include "common/parse/quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tpslab::parse {

std::string QuoteForError(absl::string_view text) {
  constexpr size_t kMaxQuoted = 200;
  if (text.size() > kMaxQuoted) {
    return absl::StrCat("'", absl::CHexEscape(text.substr(0, kMaxQuoted)), "...'");
  }
  return absl::StrCat("'", absl::CHexEscape(text), "'");
}

}  // namespace tpslab::parse
