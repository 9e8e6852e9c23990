#include "loadgen/ftp_client.h"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstring>
#include <utility>
#include <vector>

#include "common/net/tcp.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Bytes sent for generated uploads: a fixed pattern, shared read-only.
constexpr size_t kChunk = 64 * 1024;
const std::array<char, kChunk>& UploadPattern() {
  static const std::array<char, kChunk> pattern = [] {
    std::array<char, kChunk> p{};
    for (size_t i = 0; i < kChunk; ++i) p[i] = static_cast<char>('a' + i % 26);
    return p;
  }();
  return pattern;
}

// Downloaded bytes are counted and dropped: one scratch buffer per thread is
// enough, whatever the number of users on it.
asio::mutable_buffer Scratch() {
  thread_local std::vector<char> buffer(kChunk);
  return asio::buffer(buffer);
}

bool Matches(int code, int expect, int default_class) {
  return expect != 0 ? code == expect : code / 100 == default_class;
}

}  // namespace

struct FtpClient::Control {
  explicit Control(tcp::socket s)
      : socket(std::move(s)), deadline(socket.get_executor(), socket), reader(8192) {}
  tcp::socket socket;
  // Set after AUTH TLS; all later traffic goes through it.
  std::optional<TlsStream> tls;
  net::Deadline deadline;
  net::LineReader reader;
};

struct FtpClient::Data {
  explicit Data(tcp::socket s) : socket(std::move(s)), deadline(socket.get_executor(), socket) {}

  asio::awaitable<net::IoResult> Write(asio::const_buffer buffer) {
    if (tls) co_return co_await net::Write(*tls, buffer, deadline);
    co_return co_await net::Write(socket, buffer, deadline);
  }
  asio::awaitable<net::IoResult> ReadSome(asio::mutable_buffer buffer) {
    if (tls) co_return co_await net::ReadSome(*tls, buffer, deadline);
    co_return co_await net::ReadSome(socket, buffer, deadline);
  }

  tcp::socket socket;
  // Set with PROT P once the handshake is under way.
  std::optional<TlsStream> tls;
  net::Deadline deadline;
};

std::optional<uint16_t> ParseEpsvPort(std::string_view text) {
  const size_t open = text.find("(|||");
  if (open == std::string_view::npos) return std::nullopt;
  const size_t begin = open + 4;
  const size_t end = text.find('|', begin);
  if (end == std::string_view::npos || end == begin) return std::nullopt;
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(text.data() + begin, text.data() + end, port);
  if (ec != std::errc() || ptr != text.data() + end || port == 0 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

std::optional<uint16_t> ParsePasvPort(std::string_view text) {
  // The numbers may or may not be in parentheses (RFC 959 leaves it open).
  size_t at = text.find('(');
  if (at == std::string_view::npos) {
    at = text.find_first_of("0123456789", 4);
    if (at == std::string_view::npos) return std::nullopt;
  } else {
    ++at;
  }
  unsigned values[6];
  const char* p = text.data() + at;
  const char* end = text.data() + text.size();
  for (int i = 0; i < 6; ++i) {
    auto [next, ec] = std::from_chars(p, end, values[i]);
    if (ec != std::errc() || values[i] > 255) return std::nullopt;
    p = next;
    if (i < 5) {
      if (p == end || *p != ',') return std::nullopt;
      ++p;
    }
  }
  const unsigned port = values[4] * 256 + values[5];
  if (port == 0) return std::nullopt;
  return static_cast<uint16_t>(port);
}

FtpClient::FtpClient(asio::any_io_executor executor, FtpEndpoint endpoint)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)) {}

FtpClient::~FtpClient() = default;

void FtpClient::Close() {
  data_.reset();
  acceptor_.reset();
  control_.reset();
  protect_data_ = false;
}

asio::awaitable<boost::system::error_code> FtpClient::Send(const std::string& command) {
  control_->deadline.ExpiresAfter(endpoint_.timeout);
  std::string line = command;
  line += "\r\n";
  if (control_->tls) {
    net::IoResult r = co_await net::Write(*control_->tls, asio::buffer(line), control_->deadline);
    co_return r.error;
  }
  net::IoResult r = co_await net::Write(control_->socket, asio::buffer(line), control_->deadline);
  co_return r.error;
}

asio::awaitable<boost::system::error_code> FtpClient::ReadReply() {
  control_->deadline.ExpiresAfter(endpoint_.timeout);
  int code = 0;
  for (;;) {
    net::LineResult r =
        control_->tls ? co_await control_->reader.ReadLine(*control_->tls, control_->deadline)
                      : co_await control_->reader.ReadLine(control_->socket, control_->deadline);
    if (r.error) co_return r.error;
    const std::string_view line = r.line;
    const bool numbered = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                          std::isdigit(static_cast<unsigned char>(line[1])) &&
                          std::isdigit(static_cast<unsigned char>(line[2]));
    const int line_code =
        numbered ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
    if (code == 0) {
      if (!numbered) co_return make_error_code(asio::error::invalid_argument);
      code = line_code;
    }
    // A reply ends with "NNN " (or a bare "NNN"); "NNN-" opens a multi-line
    // one whose inner lines may be anything.
    if (line_code == code && (line.size() == 3 || line[3] == ' ')) {
      reply_.code = code;
      reply_.text.assign(line.data(), line.size());
      co_return boost::system::error_code();
    }
  }
}

StepResult FtpClient::Unexpected(std::string_view command, std::string_view wanted) {
  StepResult r = StepResult::Fail(
      v1::ERROR_CLASS_UNEXPECTED_REPLY,
      std::string(command) + ": expected " + std::string(wanted) + ", got '" + reply_.text + "'");
  Close();
  return r;
}

asio::awaitable<StepResult> FtpClient::Exchange(const std::string& command) {
  if (!control_) co_return StepResult::Fail(v1::ERROR_CLASS_OTHER, command + ": not connected");
  const std::string verb = command.substr(0, command.find(' '));
  boost::system::error_code ec = co_await Send(command);
  if (!ec) ec = co_await ReadReply();
  if (ec) {
    Close();
    co_return StepResult::FromError(ec, verb);
  }
  co_return StepResult{};
}

asio::awaitable<StepResult> FtpClient::Connect(int expect) {
  Close();
  net::SocketResult s =
      co_await net::Connect(endpoint_.host, endpoint_.port, {}, endpoint_.timeout);
  if (s.error) {
    co_return StepResult::FromError(
        s.error, "connect " + net::FormatHostPort(endpoint_.host, endpoint_.port));
  }
  control_ = std::make_unique<Control>(std::move(s.socket));
  boost::system::error_code ec = co_await ReadReply();
  if (ec) {
    Close();
    co_return StepResult::FromError(ec, "greeting");
  }
  if (!Matches(reply_.code, expect != 0 ? expect : 220, 2)) {
    co_return Unexpected("greeting", expect != 0 ? std::to_string(expect) : "220");
  }
  if (!endpoint_.tls) co_return StepResult{};
  StepResult r = co_await Exchange("AUTH TLS");
  if (!r.ok()) co_return r;
  if (reply_.code != 234) co_return Unexpected("AUTH TLS", "234");
  control_->tls.emplace(control_->socket, *endpoint_.tls->context);
  r = co_await TlsHandshake(*control_->tls, *endpoint_.tls, control_->deadline, endpoint_.timeout,
                            nullptr, "AUTH TLS");
  if (!r.ok()) Close();
  co_return r;
}

asio::awaitable<StepResult> FtpClient::Login(std::string user, std::string password, int expect) {
  const std::string user_command = "USER " + user;
  StepResult r = co_await Exchange(user_command);
  if (!r.ok()) co_return r;
  if (reply_.code == 331 || reply_.code == 332) {
    const std::string pass_command = "PASS " + password;
    r = co_await Exchange(pass_command);
    if (!r.ok()) co_return r;
  }
  if (!Matches(reply_.code, expect, 2)) {
    co_return Unexpected("login", expect != 0 ? std::to_string(expect) : "2xx");
  }
  if (control_->tls) {
    // RFC 4217 order: AUTH, USER/PASS, PBSZ, PROT.
    r = co_await Exchange("PBSZ 0");
    if (!r.ok()) co_return r;
    if (reply_.code / 100 != 2) co_return Unexpected("PBSZ 0", "2xx");
    r = co_await Exchange("PROT P");
    if (!r.ok()) co_return r;
    if (reply_.code / 100 != 2) co_return Unexpected("PROT P", "2xx");
    protect_data_ = true;
  }
  r = co_await Exchange("TYPE I");
  if (!r.ok()) co_return r;
  if (reply_.code / 100 != 2) co_return Unexpected("TYPE I", "2xx");
  co_return StepResult{};
}

asio::awaitable<StepResult> FtpClient::Simple(std::string command, int expect) {
  StepResult r = co_await Exchange(command);
  if (!r.ok()) co_return r;
  if (!Matches(reply_.code, expect, 2)) {
    co_return Unexpected(command.substr(0, command.find(' ')),
                         expect != 0 ? std::to_string(expect) : "2xx");
  }
  co_return StepResult{};
}

asio::awaitable<StepResult> FtpClient::Rename(std::string from, std::string to, int expect) {
  const std::string rnfr = "RNFR " + from;
  StepResult r = co_await Exchange(rnfr);
  if (!r.ok()) co_return r;
  if (reply_.code != 350) co_return Unexpected("RNFR", "350");
  std::string rnto = "RNTO " + to;
  co_return co_await Simple(std::move(rnto), expect);
}

asio::awaitable<StepResult> FtpClient::Quit(int expect) {
  StepResult r = co_await Exchange("QUIT");
  if (!r.ok()) co_return r;
  if (!Matches(reply_.code, expect != 0 ? expect : 221, 2)) {
    co_return Unexpected("QUIT", expect != 0 ? std::to_string(expect) : "221");
  }
  if (control_->tls) {
    // The session is over whatever the shutdown's outcome; it is bounded.
    co_await TlsShutdown(*control_->tls, control_->deadline, endpoint_.timeout);
  }
  Close();
  co_return StepResult{};
}

asio::awaitable<StepResult> FtpClient::OpenData(v1::DataMode mode) {
  data_.reset();
  acceptor_.reset();
  boost::system::error_code ec;
  const tcp::endpoint peer = control_->socket.remote_endpoint(ec);
  if (ec) co_return StepResult::FromError(ec, "data connection");
  if (mode == v1::DATA_MODE_EPRT || mode == v1::DATA_MODE_PORT) {
    const tcp::endpoint local = control_->socket.local_endpoint(ec);
    if (ec) co_return StepResult::FromError(ec, "data connection");
    if (mode == v1::DATA_MODE_PORT && !local.address().is_v4()) {
      co_return StepResult::Fail(v1::ERROR_CLASS_OTHER, "PORT needs IPv4; use eprt");
    }
    acceptor_ = std::make_unique<tcp::acceptor>(executor_);
    acceptor_->open(local.protocol(), ec);
    if (!ec) acceptor_->bind(tcp::endpoint(local.address(), 0), ec);
    if (!ec) acceptor_->listen(1, ec);
    if (ec) co_return StepResult::FromError(ec, "listen for data connection");
    const uint16_t port = acceptor_->local_endpoint().port();
    std::string command;
    if (mode == v1::DATA_MODE_EPRT) {
      command = "EPRT |" + std::string(local.address().is_v4() ? "1" : "2") + "|" +
                local.address().to_string() + "|" + std::to_string(port) + "|";
    } else {
      std::string address = local.address().to_string();
      std::replace(address.begin(), address.end(), '.', ',');
      command =
          "PORT " + address + "," + std::to_string(port / 256) + "," + std::to_string(port % 256);
    }
    StepResult r = co_await Exchange(command);
    if (!r.ok()) co_return r;
    if (reply_.code / 100 != 2) co_return Unexpected(command.substr(0, 4), "2xx");
    co_return StepResult{};
  }
  const bool pasv = mode == v1::DATA_MODE_PASV;
  const std::string mode_command = pasv ? "PASV" : "EPSV";
  StepResult r = co_await Exchange(mode_command);
  if (!r.ok()) co_return r;
  if (reply_.code != (pasv ? 227 : 229))
    co_return Unexpected(pasv ? "PASV" : "EPSV", pasv ? "227" : "229");
  const std::optional<uint16_t> port =
      pasv ? ParsePasvPort(reply_.text) : ParseEpsvPort(reply_.text);
  if (!port) co_return Unexpected(pasv ? "PASV" : "EPSV", "a port");
  // The data connection goes to the control connection's peer: the address
  // in a 227 reply is often wrong behind NAT, and EPSV has none.
  net::SocketResult s =
      co_await net::Connect(peer.address().to_string(), *port, {}, endpoint_.timeout);
  if (s.error) {
    StepResult failed = StepResult::FromError(s.error, "data connect");
    Close();
    co_return failed;
  }
  data_ = std::make_unique<Data>(std::move(s.socket));
  co_return StepResult{};
}

asio::awaitable<StepResult> FtpClient::EstablishData() {
  if (!data_) {
    net::Deadline deadline(executor_, *acceptor_);
    deadline.ExpiresAfter(endpoint_.timeout);
    tcp::socket socket(executor_);
    auto [ec] = co_await acceptor_->async_accept(socket, asio::as_tuple(asio::use_awaitable));
    ec = deadline.MapError(ec);
    acceptor_.reset();
    if (ec) {
      Close();
      co_return StepResult::FromError(ec, "accept data connection");
    }
    // As on connected data sockets (net::Connect): a TLS close_notify must
    // not wait for an ACK behind Nagle's algorithm.
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    data_ = std::make_unique<Data>(std::move(socket));
  }
  if (!protect_data_) co_return StepResult{};
  // RFC 4217: the FTP client is the TLS client of every data connection,
  // also in the active modes, and resumes the control connection's session.
  data_->tls.emplace(data_->socket, *endpoint_.tls->context);
  StepResult r = co_await TlsHandshake(*data_->tls, *endpoint_.tls, data_->deadline,
                                       endpoint_.timeout, &*control_->tls, "data connection");
  if (!r.ok()) Close();
  co_return r;
}

asio::awaitable<boost::system::error_code> FtpClient::FinishData(bool upload) {
  boost::system::error_code ec;
  if (data_->tls) ec = co_await TlsShutdown(*data_->tls, data_->deadline, endpoint_.timeout);
  if (upload) {
    boost::system::error_code ignored;
    data_->socket.shutdown(tcp::socket::shutdown_send, ignored);
  }
  data_.reset();
  co_return ec;
}

asio::awaitable<StepResult> FtpClient::Store(std::string verb, std::string path, uint64_t size,
                                             std::shared_ptr<const std::string> content,
                                             v1::DataMode mode, int expect) {
  if (!control_) co_return StepResult::Fail(v1::ERROR_CLASS_OTHER, verb + ": not connected");
  StepResult r = co_await OpenData(mode);
  if (!r.ok()) co_return r;
  const std::string command = verb + " " + path;
  r = co_await Exchange(command);
  if (!r.ok()) co_return r;
  if (reply_.code / 100 != 1) co_return Unexpected(verb, "125 or 150");
  r = co_await EstablishData();
  if (!r.ok()) co_return r;
  uint64_t sent = 0;
  if (content) {
    data_->deadline.ExpiresAfter(endpoint_.timeout);
    net::IoResult w = co_await data_->Write(asio::buffer(*content));
    sent = w.bytes;
    if (w.error) {
      Close();
      co_return StepResult::FromError(w.error, verb + " data");
    }
  } else {
    while (sent < size) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(size - sent, kChunk));
      data_->deadline.ExpiresAfter(endpoint_.timeout);
      net::IoResult w = co_await data_->Write(asio::buffer(UploadPattern().data(), n));
      sent += w.bytes;
      if (w.error) {
        Close();
        co_return StepResult::FromError(w.error, verb + " data");
      }
    }
  }
  // Closing the data connection marks the end of the file.
  boost::system::error_code ec = co_await FinishData(/*upload=*/true);
  if (ec) {
    Close();
    co_return StepResult::FromError(ec, verb + " data close");
  }
  ec = co_await ReadReply();
  if (ec) {
    Close();
    co_return StepResult::FromError(ec, verb);
  }
  if (!Matches(reply_.code, expect, 2)) {
    co_return Unexpected(verb, expect != 0 ? std::to_string(expect) : "226");
  }
  r.bytes_sent = sent;
  co_return r;
}

asio::awaitable<StepResult> FtpClient::Retrieve(std::string verb, std::string path,
                                                v1::DataMode mode, uint64_t expect_size,
                                                int expect) {
  if (!control_) co_return StepResult::Fail(v1::ERROR_CLASS_OTHER, verb + ": not connected");
  StepResult r = co_await OpenData(mode);
  if (!r.ok()) co_return r;
  const std::string command = path.empty() ? verb : verb + " " + path;
  r = co_await Exchange(command);
  if (!r.ok()) co_return r;
  if (reply_.code / 100 != 1) co_return Unexpected(verb, "125 or 150");
  r = co_await EstablishData();
  if (!r.ok()) co_return r;
  uint64_t received = 0;
  for (;;) {
    data_->deadline.ExpiresAfter(endpoint_.timeout);
    net::IoResult read = co_await data_->ReadSome(Scratch());
    received += read.bytes;
    if (read.error == asio::error::eof) break;
    if (read.error) {
      Close();
      co_return StepResult::FromError(read.error, verb + " data");
    }
  }
  // The server ended the data; the client's close_notify answers its own
  // and cannot fail the download.
  co_await FinishData(/*upload=*/false);
  boost::system::error_code ec = co_await ReadReply();
  if (ec) {
    Close();
    co_return StepResult::FromError(ec, verb);
  }
  if (!Matches(reply_.code, expect, 2)) {
    co_return Unexpected(verb, expect != 0 ? std::to_string(expect) : "226");
  }
  r.bytes_received = received;
  if (expect_size != 0 && received != expect_size) {
    r.error = v1::ERROR_CLASS_CHECK_FAILED;
    r.message = verb + " " + path + ": expected " + std::to_string(expect_size) + " bytes, got " +
                std::to_string(received);
  }
  co_return r;
}

}  // namespace tpslab::loadgen
