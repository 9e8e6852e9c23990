#include "ftpd/command.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cassert>
#include <charconv>
#include <cstring>

#include "absl/strings/str_format.h"

namespace tpslab::ftpd {
namespace {

// Telnet command bytes (RFC 854).
constexpr unsigned char kIac = 255;
constexpr unsigned char kSb = 250;
constexpr unsigned char kSe = 240;
constexpr unsigned char kWill = 251;
constexpr unsigned char kDont = 254;

char ToUpperAscii(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToUpperAscii(a[i]) != ToUpperAscii(b[i])) return false;
  }
  return true;
}

// Packs a verb of up to four upper-case letters into one integer, so the
// lookup is a single switch.
constexpr uint32_t Pack(std::string_view s) {
  uint32_t key = 0;
  for (char c : s) key = (key << 8) | static_cast<unsigned char>(c);
  return key;
}

// Strips Telnet sequences from `line` into `out` (see ParseCommand).
void StripTelnet(std::string_view line, std::string* out) {
  out->clear();
  const size_t n = line.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c != kIac) {
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (i + 1 >= n) break;  // a lone IAC at the end of the line
    const unsigned char command = static_cast<unsigned char>(line[i + 1]);
    if (command == kIac) {
      out->push_back(static_cast<char>(kIac));  // escaped data byte 255
      i += 2;
    } else if (command >= kWill && command <= kDont) {
      i += 3;  // option negotiation: IAC verb option
    } else if (command == kSb) {
      // Subnegotiation runs to IAC SE (or, if truncated, to the line's end).
      i += 2;
      while (i < n && !(static_cast<unsigned char>(line[i]) == kIac && i + 1 < n &&
                        static_cast<unsigned char>(line[i + 1]) == kSe)) {
        ++i;
      }
      i += 2;
    } else if (command >= kSe) {
      i += 2;  // SE NOP DM BRK IP AO AYT EC EL GA
    } else {
      i += 1;  // IAC before a non-command byte: drop the IAC only
    }
  }
}

// `text` for an error message: control bytes as \xHH, at most 64 bytes shown.
std::string Printable(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string result;
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      result += absl::StrFormat("\\x%02X", c);
    } else {
      result.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxShown) result += "...";
  return result;
}

absl::Status Invalid(std::string_view what, std::string_view arg) {
  return absl::InvalidArgumentError(absl::StrFormat("%s in \"%s\"", what, Printable(arg)));
}

// Parses an unsigned decimal of 1-`max_digits` digits that spans `text`.
bool ParseDecimal(std::string_view text, size_t max_digits, uint64_t* value) {
  if (text.empty() || text.size() > max_digits) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *value = v;
  return true;
}

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void AppendCode(int code, char separator, std::string* out) {
  assert(code >= 100 && code <= 599);
  const char buf[4] = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                       static_cast<char>('0' + code % 10), separator};
  out->append(buf, 4);
}

// Appends `text` with CR, LF and NUL written as spaces.
void AppendSafeText(std::string_view text, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n' || c == '\0') {
      out->append(text.data() + start, i - start);
      out->push_back(' ');
      start = i + 1;
    }
  }
  out->append(text.data() + start, text.size() - start);
}

void AppendLineEnd(std::string* out) { out->append("\r\n", 2); }

}  // namespace

std::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kUnknown:
      return "";
    case Verb::kUser:
      return "USER";
    case Verb::kPass:
      return "PASS";
    case Verb::kAcct:
      return "ACCT";
    case Verb::kCwd:
      return "CWD";
    case Verb::kCdup:
      return "CDUP";
    case Verb::kSmnt:
      return "SMNT";
    case Verb::kRein:
      return "REIN";
    case Verb::kQuit:
      return "QUIT";
    case Verb::kPort:
      return "PORT";
    case Verb::kPasv:
      return "PASV";
    case Verb::kType:
      return "TYPE";
    case Verb::kStru:
      return "STRU";
    case Verb::kMode:
      return "MODE";
    case Verb::kRetr:
      return "RETR";
    case Verb::kStor:
      return "STOR";
    case Verb::kStou:
      return "STOU";
    case Verb::kAppe:
      return "APPE";
    case Verb::kAllo:
      return "ALLO";
    case Verb::kRest:
      return "REST";
    case Verb::kRnfr:
      return "RNFR";
    case Verb::kRnto:
      return "RNTO";
    case Verb::kAbor:
      return "ABOR";
    case Verb::kDele:
      return "DELE";
    case Verb::kRmd:
      return "RMD";
    case Verb::kMkd:
      return "MKD";
    case Verb::kPwd:
      return "PWD";
    case Verb::kList:
      return "LIST";
    case Verb::kNlst:
      return "NLST";
    case Verb::kSite:
      return "SITE";
    case Verb::kSyst:
      return "SYST";
    case Verb::kStat:
      return "STAT";
    case Verb::kHelp:
      return "HELP";
    case Verb::kNoop:
      return "NOOP";
    case Verb::kFeat:
      return "FEAT";
    case Verb::kOpts:
      return "OPTS";
    case Verb::kEprt:
      return "EPRT";
    case Verb::kEpsv:
      return "EPSV";
    case Verb::kSize:
      return "SIZE";
    case Verb::kMdtm:
      return "MDTM";
    case Verb::kMlst:
      return "MLST";
    case Verb::kMlsd:
      return "MLSD";
    case Verb::kMfmt:
      return "MFMT";
    case Verb::kAuth:
      return "AUTH";
    case Verb::kPbsz:
      return "PBSZ";
    case Verb::kProt:
      return "PROT";
    case Verb::kCcc:
      return "CCC";
    case Verb::kLang:
      return "LANG";
  }
  return "";
}

Verb LookupVerb(std::string_view raw_verb) {
  if (raw_verb.size() < 3 || raw_verb.size() > 4) return Verb::kUnknown;
  uint32_t key = 0;
  for (char c : raw_verb) {
    const char upper = ToUpperAscii(c);
    if (upper < 'A' || upper > 'Z') return Verb::kUnknown;
    key = (key << 8) | static_cast<unsigned char>(upper);
  }
  switch (key) {
    case Pack("USER"):
      return Verb::kUser;
    case Pack("PASS"):
      return Verb::kPass;
    case Pack("ACCT"):
      return Verb::kAcct;
    case Pack("CWD"):
    case Pack("XCWD"):
      return Verb::kCwd;
    case Pack("CDUP"):
    case Pack("XCUP"):
      return Verb::kCdup;
    case Pack("SMNT"):
      return Verb::kSmnt;
    case Pack("REIN"):
      return Verb::kRein;
    case Pack("QUIT"):
      return Verb::kQuit;
    case Pack("PORT"):
      return Verb::kPort;
    case Pack("PASV"):
      return Verb::kPasv;
    case Pack("TYPE"):
      return Verb::kType;
    case Pack("STRU"):
      return Verb::kStru;
    case Pack("MODE"):
      return Verb::kMode;
    case Pack("RETR"):
      return Verb::kRetr;
    case Pack("STOR"):
      return Verb::kStor;
    case Pack("STOU"):
      return Verb::kStou;
    case Pack("APPE"):
      return Verb::kAppe;
    case Pack("ALLO"):
      return Verb::kAllo;
    case Pack("REST"):
      return Verb::kRest;
    case Pack("RNFR"):
      return Verb::kRnfr;
    case Pack("RNTO"):
      return Verb::kRnto;
    case Pack("ABOR"):
      return Verb::kAbor;
    case Pack("DELE"):
      return Verb::kDele;
    case Pack("RMD"):
    case Pack("XRMD"):
      return Verb::kRmd;
    case Pack("MKD"):
    case Pack("XMKD"):
      return Verb::kMkd;
    case Pack("PWD"):
    case Pack("XPWD"):
      return Verb::kPwd;
    case Pack("LIST"):
      return Verb::kList;
    case Pack("NLST"):
      return Verb::kNlst;
    case Pack("SITE"):
      return Verb::kSite;
    case Pack("SYST"):
      return Verb::kSyst;
    case Pack("STAT"):
      return Verb::kStat;
    case Pack("HELP"):
      return Verb::kHelp;
    case Pack("NOOP"):
      return Verb::kNoop;
    case Pack("FEAT"):
      return Verb::kFeat;
    case Pack("OPTS"):
      return Verb::kOpts;
    case Pack("EPRT"):
      return Verb::kEprt;
    case Pack("EPSV"):
      return Verb::kEpsv;
    case Pack("SIZE"):
      return Verb::kSize;
    case Pack("MDTM"):
      return Verb::kMdtm;
    case Pack("MLST"):
      return Verb::kMlst;
    case Pack("MLSD"):
      return Verb::kMlsd;
    case Pack("MFMT"):
      return Verb::kMfmt;
    case Pack("AUTH"):
      return Verb::kAuth;
    case Pack("PBSZ"):
      return Verb::kPbsz;
    case Pack("PROT"):
      return Verb::kProt;
    case Pack("CCC"):
      return Verb::kCcc;
    case Pack("LANG"):
      return Verb::kLang;
    default:
      return Verb::kUnknown;
  }
}

absl::StatusOr<Command> ParseCommand(std::string_view line, std::string* scratch) {
  if (std::memchr(line.data(), kIac, line.size()) != nullptr) {
    StripTelnet(line, scratch);
    line = *scratch;
  }
  if (const void* nul = std::memchr(line.data(), '\0', line.size()); nul != nullptr) {
    const size_t offset = static_cast<size_t>(static_cast<const char*>(nul) - line.data());
    return absl::InvalidArgumentError(
        absl::StrFormat("NUL byte in command line at offset %d", offset));
  }
  if (line.empty()) return absl::InvalidArgumentError("empty command line");
  if (line.front() == ' ') return absl::InvalidArgumentError("command line starts with a space");

  Command command;
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    command.raw_verb = line;
  } else {
    command.raw_verb = line.substr(0, space);
    command.argument = line.substr(space + 1);
  }
  command.verb = LookupVerb(command.raw_verb);
  return command;
}

int ReplyCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 501;
    case absl::StatusCode::kUnimplemented:
      return 504;
    default:
      return 500;
  }
}

std::string HostPort::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  const int af = family == Family::kIpv4 ? AF_INET : AF_INET6;
  if (::inet_ntop(af, address.data(), text, sizeof(text)) == nullptr) return "<bad address>";
  if (family == Family::kIpv4) return absl::StrFormat("%s:%d", text, port);
  return absl::StrFormat("[%s]:%d", text, port);
}

absl::StatusOr<HostPort> ParsePortArgument(std::string_view arg) {
  uint64_t fields[6];
  std::string_view rest = arg;
  for (int i = 0; i < 6; ++i) {
    const size_t comma = rest.find(',');
    const bool last = i == 5;
    if (last != (comma == std::string_view::npos)) {
      return Invalid("PORT needs exactly six comma-separated numbers", arg);
    }
    const std::string_view field = last ? rest : rest.substr(0, comma);
    if (!ParseDecimal(field, 3, &fields[i]) || fields[i] > 255) {
      return Invalid(absl::StrFormat("PORT field %d is not a number 0-255", i + 1), arg);
    }
    if (!last) rest.remove_prefix(comma + 1);
  }
  HostPort result;
  result.family = HostPort::Family::kIpv4;
  for (int i = 0; i < 4; ++i) result.address[i] = static_cast<uint8_t>(fields[i]);
  result.port = static_cast<uint16_t>(fields[4] * 256 + fields[5]);
  return result;
}

absl::StatusOr<HostPort> ParseEprtArgument(std::string_view arg) {
  if (arg.empty()) return Invalid("EPRT needs an argument", arg);
  const char d = arg.front();
  const bool ambiguous =
      IsDigit(d) || d == '.' || d == ':' || (d >= 'a' && d <= 'f') || (d >= 'A' && d <= 'F');
  if (d < 33 || d > 126 || ambiguous) return Invalid("EPRT delimiter not allowed", arg);
  if (arg.size() < 2 || arg.back() != d) return Invalid("EPRT must end with its delimiter", arg);
  // Split <d>af<d>addr<d>port<d> into its three fields.
  std::string_view fields[3];
  std::string_view rest = arg.substr(1, arg.size() - 2);
  for (int i = 0; i < 3; ++i) {
    const size_t pos = rest.find(d);
    const bool last = i == 2;
    if (last != (pos == std::string_view::npos)) {
      return Invalid("EPRT needs exactly three delimited fields", arg);
    }
    fields[i] = last ? rest : rest.substr(0, pos);
    if (!last) rest.remove_prefix(pos + 1);
  }
  uint64_t af = 0;
  if (!ParseDecimal(fields[0], 3, &af)) return Invalid("EPRT protocol is not a number", arg);
  if (af != 1 && af != 2) {
    return absl::UnimplementedError(
        absl::StrFormat("EPRT network protocol %d not supported, use (1,2)", af));
  }
  HostPort result;
  result.family = af == 1 ? HostPort::Family::kIpv4 : HostPort::Family::kIpv6;
  char text[INET6_ADDRSTRLEN + 1];
  if (fields[1].empty() || fields[1].size() >= sizeof(text)) {
    return Invalid("EPRT address has a bad length", arg);
  }
  std::memcpy(text, fields[1].data(), fields[1].size());
  text[fields[1].size()] = '\0';
  if (::inet_pton(af == 1 ? AF_INET : AF_INET6, text, result.address.data()) != 1) {
    return Invalid(af == 1 ? "EPRT address is not IPv4" : "EPRT address is not IPv6", arg);
  }
  uint64_t port = 0;
  if (!ParseDecimal(fields[2], 5, &port) || port == 0 || port > 65535) {
    return Invalid("EPRT port is not a number 1-65535", arg);
  }
  result.port = static_cast<uint16_t>(port);
  return result;
}

absl::StatusOr<EpsvArgument> ParseEpsvArgument(std::string_view arg) {
  if (arg.empty()) return EpsvArgument::kAny;
  if (EqualsIgnoreCase(arg, "ALL")) return EpsvArgument::kAll;
  uint64_t af = 0;
  if (!ParseDecimal(arg, 3, &af)) return Invalid("EPSV takes a protocol number or ALL", arg);
  if (af == 1) return EpsvArgument::kIpv4;
  if (af == 2) return EpsvArgument::kIpv6;
  return absl::UnimplementedError(
      absl::StrFormat("EPSV network protocol %d not supported, use (1,2)", af));
}

absl::StatusOr<TransferType> ParseTypeArgument(std::string_view arg) {
  if (arg.empty()) return Invalid("TYPE needs a type code", arg);
  const char type = ToUpperAscii(arg[0]);
  std::string_view param;
  if (arg.size() > 1) {
    if (arg[1] != ' ' || arg.size() == 2) return Invalid("TYPE syntax error", arg);
    param = arg.substr(2);
  }
  switch (type) {
    case 'I':
      if (!param.empty()) return Invalid("TYPE I takes no parameter", arg);
      return TransferType::kImage;
    case 'A':
    case 'E':
      if (!param.empty()) {
        if (param.size() != 1) return Invalid("TYPE format code is one letter", arg);
        const char format = ToUpperAscii(param[0]);
        if (format != 'N' && format != 'T' && format != 'C') {
          return Invalid("TYPE format code must be N, T or C", arg);
        }
        if (format != 'N')
          return absl::UnimplementedError("only format N (non-print) is supported");
      }
      if (type == 'E') return absl::UnimplementedError("TYPE E (EBCDIC) is not supported");
      return TransferType::kAscii;
    case 'L': {
      uint64_t size = 0;
      if (!ParseDecimal(param, 3, &size) || size == 0) {
        return Invalid("TYPE L needs a byte size", arg);
      }
      if (size != 8) return absl::UnimplementedError("only TYPE L 8 is supported");
      return TransferType::kImage;
    }
    default:
      return Invalid("unknown TYPE code", arg);
  }
}

absl::Status ParseModeArgument(std::string_view arg) {
  if (arg.size() != 1) return Invalid("MODE takes one letter", arg);
  switch (ToUpperAscii(arg[0])) {
    case 'S':
      return absl::OkStatus();
    case 'B':
    case 'C':
      return absl::UnimplementedError("only MODE S (stream) is supported");
    default:
      return Invalid("unknown MODE", arg);
  }
}

absl::Status ParseStruArgument(std::string_view arg) {
  if (arg.size() != 1) return Invalid("STRU takes one letter", arg);
  switch (ToUpperAscii(arg[0])) {
    case 'F':
      return absl::OkStatus();
    case 'R':
    case 'P':
      return absl::UnimplementedError("only STRU F (file) is supported");
    default:
      return Invalid("unknown STRU", arg);
  }
}

absl::StatusOr<FileTime> ParseTimeVal(std::string_view text) {
  std::string_view whole = text;
  std::string_view fraction;
  if (const size_t dot = text.find('.'); dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    fraction = text.substr(dot + 1);
    if (fraction.empty() || fraction.size() > 9) {
      return Invalid("time fraction must have 1-9 digits", text);
    }
  }
  if (whole.size() != 14) return Invalid("time must be YYYYMMDDHHMMSS", text);
  uint64_t year, month, day, hour, minute, second;
  if (!ParseDecimal(whole.substr(0, 4), 4, &year) || !ParseDecimal(whole.substr(4, 2), 2, &month) ||
      !ParseDecimal(whole.substr(6, 2), 2, &day) || !ParseDecimal(whole.substr(8, 2), 2, &hour) ||
      !ParseDecimal(whole.substr(10, 2), 2, &minute) ||
      !ParseDecimal(whole.substr(12, 2), 2, &second)) {
    return Invalid("time must be YYYYMMDDHHMMSS", text);
  }
  if (month < 1 || month > 12) return Invalid("month out of range", text);
  if (day < 1 ||
      static_cast<int>(day) > DaysInMonth(static_cast<int64_t>(year), static_cast<int>(month))) {
    return Invalid("day out of range", text);
  }
  if (hour > 23 || minute > 59 || second > 60) return Invalid("time of day out of range", text);
  FileTime result;
  uint64_t nanos = 0;
  if (!fraction.empty()) {
    if (!ParseDecimal(fraction, 9, &nanos)) return Invalid("time fraction must be digits", text);
    for (size_t i = fraction.size(); i < 9; ++i) nanos *= 10;
  }
  result.seconds =
      DaysFromCivil(static_cast<int64_t>(year), static_cast<int>(month), static_cast<int>(day)) *
          86400 +
      static_cast<int64_t>(hour * 3600 + minute * 60 + second);
  result.nanoseconds = static_cast<uint32_t>(nanos);
  return result;
}

absl::StatusOr<MfmtArgument> ParseMfmtArgument(std::string_view arg) {
  const size_t space = arg.find(' ');
  if (space == std::string_view::npos || space + 1 == arg.size()) {
    return Invalid("MFMT needs a time and a path", arg);
  }
  absl::StatusOr<FileTime> time = ParseTimeVal(arg.substr(0, space));
  if (!time.ok()) return time.status();
  return MfmtArgument{*time, arg.substr(space + 1)};
}

absl::StatusOr<int64_t> ParseRestArgument(std::string_view arg) {
  uint64_t offset = 0;
  if (!ParseDecimal(arg, 19, &offset) || offset > static_cast<uint64_t>(INT64_MAX)) {
    return Invalid("REST needs a byte offset 0-9223372036854775807", arg);
  }
  return static_cast<int64_t>(offset);
}

absl::StatusOr<uint64_t> ParseAlloArgument(std::string_view arg) {
  std::string_view size_text = arg;
  if (const size_t space = arg.find(' '); space != std::string_view::npos) {
    size_text = arg.substr(0, space);
    const std::string_view rest = arg.substr(space + 1);
    uint64_t record = 0;
    if (rest.size() < 3 || ToUpperAscii(rest[0]) != 'R' || rest[1] != ' ' ||
        !ParseDecimal(rest.substr(2), 19, &record)) {
      return Invalid("ALLO syntax is <size> [R <record size>]", arg);
    }
  }
  uint64_t size = 0;
  if (!ParseDecimal(size_text, 19, &size)) return Invalid("ALLO needs a decimal size", arg);
  return size;
}

std::string_view MlstFactName(MlstFact fact) {
  switch (fact) {
    case MlstFact::kType:
      return "type";
    case MlstFact::kSize:
      return "size";
    case MlstFact::kModify:
      return "modify";
    case MlstFact::kPerm:
      return "perm";
    case MlstFact::kUnique:
      return "unique";
    case MlstFact::kUnixMode:
      return "UNIX.mode";
  }
  return "";
}

void AppendMlstFactList(MlstFacts facts, std::string* out) {
  for (MlstFact fact : kAllMlstFacts) {
    if (!facts.Has(fact)) continue;
    out->append(MlstFactName(fact));
    out->push_back(';');
  }
}

void AppendMlstFeature(MlstFacts enabled, std::string* out) {
  out->append("MLST ");
  for (MlstFact fact : kAllMlstFacts) {
    out->append(MlstFactName(fact));
    if (enabled.Has(fact)) out->push_back('*');
    out->push_back(';');
  }
}

absl::StatusOr<OptsArgument> ParseOptsArgument(std::string_view arg) {
  const size_t space = arg.find(' ');
  const std::string_view name = arg.substr(0, space);
  const std::string_view value =
      space == std::string_view::npos ? std::string_view() : arg.substr(space + 1);
  OptsArgument result;
  if (EqualsIgnoreCase(name, "UTF8") || EqualsIgnoreCase(name, "UTF-8")) {
    result.kind = OptsArgument::Kind::kUtf8;
    if (value.empty() || EqualsIgnoreCase(value, "ON")) {
      result.utf8_on = true;
    } else if (EqualsIgnoreCase(value, "OFF")) {
      result.utf8_on = false;
    } else {
      return Invalid("OPTS UTF8 takes ON or OFF", arg);
    }
    return result;
  }
  if (EqualsIgnoreCase(name, "MLST")) {
    result.kind = OptsArgument::Kind::kMlst;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t semicolon = rest.find(';');
      const std::string_view fact_name = rest.substr(0, semicolon);
      for (MlstFact fact : kAllMlstFacts) {
        if (EqualsIgnoreCase(fact_name, MlstFactName(fact))) result.facts.Add(fact);
      }
      if (semicolon == std::string_view::npos) break;
      rest.remove_prefix(semicolon + 1);
    }
    return result;
  }
  return Invalid("unknown OPTS command", arg);
}

absl::StatusOr<ProtectionLevel> ParseProtArgument(std::string_view arg) {
  if (arg.size() != 1) return Invalid("PROT takes one letter", arg);
  switch (ToUpperAscii(arg[0])) {
    case 'C':
      return ProtectionLevel::kClear;
    case 'P':
      return ProtectionLevel::kPrivate;
    case 'S':
    case 'E':
      return absl::UnimplementedError("PROT level not supported by mechanism");
    default:
      return Invalid("unknown PROT level", arg);
  }
}

absl::StatusOr<uint32_t> ParsePbszArgument(std::string_view arg) {
  uint64_t size = 0;
  if (!ParseDecimal(arg, 10, &size) || size > UINT32_MAX) {
    return Invalid("PBSZ needs a decimal size 0-4294967295", arg);
  }
  return static_cast<uint32_t>(size);
}

absl::Status ParseAuthArgument(std::string_view arg) {
  if (EqualsIgnoreCase(arg, "TLS") || EqualsIgnoreCase(arg, "TLS-C")) return absl::OkStatus();
  return absl::UnimplementedError(
      absl::StrFormat("security mechanism \"%s\" not understood", Printable(arg)));
}

ListArgument ParseListArgument(std::string_view arg) {
  ListArgument result;
  std::string_view rest = arg;
  while (!rest.empty() && rest.front() == '-') {
    const size_t space = rest.find(' ');
    const std::string_view options =
        rest.substr(1, space == std::string_view::npos ? rest.npos : space - 1);
    for (char c : options) {
      if (c == 'a' || c == 'A') result.all = true;
    }
    if (space == std::string_view::npos) {
      rest = {};
      break;
    }
    rest.remove_prefix(space + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  }
  result.path = rest;
  return result;
}

void AppendReply(int code, std::string_view text, std::string* out) {
  AppendCode(code, ' ', out);
  AppendSafeText(text, out);
  AppendLineEnd(out);
}

void AppendPathReply(int code, std::string_view path, std::string_view text, std::string* out) {
  AppendCode(code, ' ', out);
  out->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '"') {
      AppendSafeText(path.substr(start, i + 1 - start), out);
      out->push_back('"');
      start = i + 1;
    }
  }
  AppendSafeText(path.substr(start), out);
  out->push_back('"');
  if (!text.empty()) {
    out->push_back(' ');
    AppendSafeText(text, out);
  }
  AppendLineEnd(out);
}

MultilineReply::MultilineReply(int code, std::string_view first, std::string* out)
    : code_(code), out_(out) {
  AppendCode(code, '-', out_);
  AppendSafeText(first, out_);
  AppendLineEnd(out_);
}

void MultilineReply::AddLine(std::string_view text) {
  if (!text.empty() && IsDigit(text.front())) out_->push_back(' ');
  AppendSafeText(text, out_);
  AppendLineEnd(out_);
}

void MultilineReply::Finish(std::string_view last) { AppendReply(code_, last, out_); }

void AppendMultilineReply(int code, std::span<const std::string_view> lines, std::string* out) {
  assert(!lines.empty());
  if (lines.size() == 1) {
    AppendReply(code, lines[0], out);
    return;
  }
  MultilineReply reply(code, lines.front(), out);
  for (size_t i = 1; i + 1 < lines.size(); ++i) reply.AddLine(lines[i]);
  reply.Finish(lines.back());
}

}  // namespace tpslab::ftpd
