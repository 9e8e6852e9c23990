#include "analyzer/pcap/ftp_parser.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <vector>

namespace tpslab::analyzer::pcap {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Parses a decimal number of at most `max_digits` digits at text[*pos].
std::optional<uint32_t> Number(std::string_view text, size_t* pos, int max_digits) {
  size_t start = *pos;
  uint32_t value = 0;
  while (*pos < text.size() && IsDigit(text[*pos]) && static_cast<int>(*pos - start) < max_digits) {
    value = value * 10 + static_cast<uint32_t>(text[*pos] - '0');
    ++*pos;
  }
  if (*pos == start) return std::nullopt;
  return value;
}

// Parses "h1,h2,h3,h4,p1,p2" at text[pos].
std::optional<Endpoint> SixNumbers(std::string_view text, size_t pos) {
  std::array<uint32_t, 6> parts{};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      if (pos >= text.size() || text[pos] != ',') return std::nullopt;
      ++pos;
    }
    std::optional<uint32_t> part = Number(text, &pos, 3);
    if (!part || *part > 255) return std::nullopt;
    parts[i] = *part;
  }
  Endpoint endpoint;
  endpoint.address = IpAddress::V4(static_cast<uint8_t>(parts[0]), static_cast<uint8_t>(parts[1]),
                                   static_cast<uint8_t>(parts[2]), static_cast<uint8_t>(parts[3]));
  endpoint.port = static_cast<uint16_t>(parts[4] * 256 + parts[5]);
  return endpoint;
}

}  // namespace

FtpCommand ParseCommand(std::string_view line) {
  FtpCommand command;
  const size_t space = line.find(' ');
  const std::string_view verb = line.substr(0, space);
  command.verb.reserve(verb.size());
  for (char c : verb)
    command.verb.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (space != std::string_view::npos) command.arg = std::string(line.substr(space + 1));
  return command;
}

bool LooksLikeCommand(std::string_view line) {
  size_t letters = 0;
  while (letters < line.size() && IsAlpha(line[letters])) ++letters;
  if (letters < 3 || letters > 4) return false;
  return letters == line.size() || line[letters] == ' ';
}

std::optional<FtpReplyLine> ParseReplyLine(std::string_view line) {
  if (line.size() < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2])) {
    return std::nullopt;
  }
  FtpReplyLine reply;
  reply.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  reply.final = line.size() == 3 || line[3] != '-';
  reply.text = line.size() > 4 ? line.substr(4) : std::string_view();
  return reply;
}

std::optional<Endpoint> ParsePasvReply(std::string_view text) {
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (!IsDigit(text[pos]) || (pos > 0 && IsDigit(text[pos - 1]))) continue;
    if (std::optional<Endpoint> endpoint = SixNumbers(text, pos)) return endpoint;
  }
  return std::nullopt;
}

std::optional<uint16_t> ParseEpsvReply(std::string_view text) {
  const size_t open = text.find('(');
  if (open == std::string_view::npos || open + 4 >= text.size()) return std::nullopt;
  const char delimiter = text[open + 1];
  if (text[open + 2] != delimiter || text[open + 3] != delimiter) return std::nullopt;
  size_t pos = open + 4;
  std::optional<uint32_t> port = Number(text, &pos, 5);
  if (!port || *port == 0 || *port > 65535 || pos >= text.size() || text[pos] != delimiter) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(*port);
}

std::optional<Endpoint> ParsePortArg(std::string_view arg) {
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  return SixNumbers(arg, 0);
}

std::optional<Endpoint> ParseEprtArg(std::string_view arg) {
  if (arg.size() < 7) return std::nullopt;
  const char delimiter = arg[0];
  std::vector<std::string_view> fields;
  size_t start = 1;
  for (size_t pos = 1; pos < arg.size(); ++pos) {
    if (arg[pos] == delimiter) {
      fields.push_back(arg.substr(start, pos - start));
      start = pos + 1;
    }
  }
  if (fields.size() != 3) return std::nullopt;
  Endpoint endpoint;
  const std::string host(fields[1]);
  if (fields[0] == "1") {
    if (inet_pton(AF_INET, host.c_str(), endpoint.address.bytes.data()) != 1) return std::nullopt;
  } else if (fields[0] == "2") {
    endpoint.address.version = 6;
    if (inet_pton(AF_INET6, host.c_str(), endpoint.address.bytes.data()) != 1) return std::nullopt;
  } else {
    return std::nullopt;
  }
  size_t pos = 0;
  std::optional<uint32_t> port = Number(fields[2], &pos, 5);
  if (!port || pos != fields[2].size() || *port == 0 || *port > 65535) return std::nullopt;
  endpoint.port = static_cast<uint16_t>(*port);
  return endpoint;
}

FtpFrameFields ExtractFrameFields(std::string_view payload, bool is_request) {
  FtpFrameFields fields;
  fields.is_request = is_request;
  const size_t end = payload.find_first_of("\r\n");
  std::string_view line = payload.substr(0, end);
  if (is_request) {
    size_t token = 0;
    while (token < line.size() && line[token] != ' ') ++token;
    if (token > 0) fields.command = std::string(line.substr(0, token));
    size_t rest = token;
    while (rest < line.size() && line[rest] == ' ') ++rest;
    if (rest < line.size()) fields.request_arg = std::string(line.substr(rest));
    return fields;
  }
  size_t rest = 0;
  if (line.size() >= 3 && IsDigit(line[0]) && IsDigit(line[1]) && IsDigit(line[2])) {
    fields.response_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    rest = line.size() >= 4 ? 4 : line.size();
  }
  if (rest < line.size()) fields.response_arg = std::string(line.substr(rest));
  return fields;
}

}  // namespace tpslab::analyzer::pcap
