// Quoting of untrusted input for error messages.
//
// Parsers quote the text they reject so the user sees exactly what was
// wrong. Input may contain control characters or invalid UTF-8 that would
// garble a terminal or a log line, so non-printable bytes are C-escaped:
//
//   QuoteForError("a\tb")  // -> 'a\tb' (with a literal backslash-t)
#ifndef TPSLAB_COMMON_PARSE_QUOTE_H_
#define TPSLAB_COMMON_PARSE_QUOTE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tpslab::parse {

// Returns `text` in single quotes, with control characters, quotes,
// backslashes and non-ASCII bytes C-escaped (absl::CHexEscape). Input longer
// than 200 bytes is cut and marked with "...".
std::string QuoteForError(absl::string_view text);

}  // namespace tpslab::parse

#endif  // TPSLAB_COMMON_PARSE_QUOTE_H_
