// Parsing of FTP control-channel text (RFC 959, RFC 2428): command and
// reply lines, the data endpoints announced by PASV, EPSV, PORT and EPRT,
// and the per-frame view tshark's FTP dissector takes (first line of each
// segment only), which `analyzer pcap --fields` reproduces.
//
//   FtpCommand command = ParseCommand("RETR file.bin");   // {"RETR", "file.bin"}
//   std::optional<FtpReplyLine> reply = ParseReplyLine("226 Transfer complete.");
//   std::optional<Endpoint> data = ParsePasvReply("Entering Passive Mode (192,0,2,1,4,1)");
//   FtpFrameFields fields = ExtractFrameFields("USER ftp\r\n", /*is_request=*/true);
#ifndef TPSLAB_ANALYZER_PCAP_FTP_PARSER_H_
#define TPSLAB_ANALYZER_PCAP_FTP_PARSER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "analyzer/pcap/tcp_tracker.h"

namespace tpslab::analyzer::pcap {

// A command line split at its first space: the verb uppercased, the rest
// verbatim.
struct FtpCommand {
  std::string verb;
  std::string arg;
};

// Splits `line` (without its line end) into verb and argument.
FtpCommand ParseCommand(std::string_view line);

// Returns whether `line` looks like a client command: a verb of 3 or 4
// ASCII letters, alone or followed by a space.
bool LooksLikeCommand(std::string_view line);

// One line of a reply that starts with a code.
struct FtpReplyLine {
  // The three-digit code.
  int code = 0;
  // Whether the code is followed by a space or nothing ("226 ..."), which
  // ends a reply, rather than a hyphen ("214-...", a multi-line reply).
  bool final = true;
  // The text after "NNN " or "NNN-".
  std::string_view text;
};

// Parses a line starting with three digits; nullopt otherwise (a
// continuation line of a multi-line reply).
std::optional<FtpReplyLine> ParseReplyLine(std::string_view line);

// Returns the endpoint in a 227 reply's text: the first "h1,h2,h3,h4,p1,p2"
// group of numbers (each 0..255).
std::optional<Endpoint> ParsePasvReply(std::string_view text);

// Returns the port in a 229 reply's text: "(|||port|)" with any delimiter.
std::optional<uint16_t> ParseEpsvReply(std::string_view text);

// Returns the endpoint of a PORT argument "h1,h2,h3,h4,p1,p2".
std::optional<Endpoint> ParsePortArg(std::string_view arg);

// Returns the endpoint of an EPRT argument "|1|192.0.2.1|6446|" or
// "|2|2001:db8::1|6446|" (any delimiter).
std::optional<Endpoint> ParseEprtArg(std::string_view arg);

// The FTP fields tshark 4.0 shows for one TCP segment: it parses only the
// segment's first line (up to CR or LF, or the end of the segment).
struct FtpFrameFields {
  // From the client (ftp.request) or the server (ftp.response).
  bool is_request = false;
  // ftp.request.command / ftp.request.arg, when present.
  std::optional<std::string> command;
  std::optional<std::string> request_arg;
  // ftp.response.code / ftp.response.arg, when present.
  std::optional<int> response_code;
  std::optional<std::string> response_arg;
};

// Returns what tshark shows for a segment with this payload. Requests: the
// command is the text up to the first space, CR or LF; the argument the
// rest of the line after the spaces that follow. Responses: the code when
// the line starts with three digits, the argument after the fourth
// character (or the whole line when there is no code).
FtpFrameFields ExtractFrameFields(std::string_view payload, bool is_request);

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_FTP_PARSER_H_
