#include "ftpd/server.h"

#include <openssl/rand.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "common/net/tcp.h"
#include "ftpd/admin.h"
#include "ftpd/tls.h"
#include "spdlog/spdlog.h"

namespace tpslab::ftpd {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// Sends a one-line refusal on a fresh connection and closes it. The kernel
// send buffer of a new socket is empty, so the non-blocking send completes.
void RefuseConnection(tcp::socket& socket, std::string_view reply) {
  error_code ignored;
  socket.non_blocking(true, ignored);
  [[maybe_unused]] ssize_t n =
      ::send(socket.native_handle(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  socket.close(ignored);
}

std::string ListenAddress(const std::string& host) {
  if (host.empty()) return "0.0.0.0";
  if (host == "localhost") return "127.0.0.1";
  return host;
}

}  // namespace

Server::Server(const ServerConfig& config)
    : config_(config), pool_(config.threads), hash_pool_(std::max(1u, config.hash_threads)) {}

Server::~Server() {
  hash_pool_.stop();
  hash_pool_.join();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const ServerConfig& config) {
  if (config.root.empty()) return absl::InvalidArgumentError("--root is required");
  if (config.passive_port_min > config.passive_port_max ||
      (config.passive_port_min == 0) != (config.passive_port_max == 0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid passive port range %d-%d", config.passive_port_min, config.passive_port_max));
  }
  PortRange passive_range{config.passive_port_min, config.passive_port_max};
  if (passive_range.min == 0) {
    absl::StatusOr<PortRange> ephemeral = ReadLocalPortRange();
    if (ephemeral.ok()) {
      passive_range = *ephemeral;
    } else {
      spdlog::warn("{}; passive ports come from {}", ephemeral.status().ToString(),
                   kDefaultPassivePorts.ToString());
      passive_range = kDefaultPassivePorts;
    }
  }
  if (config.max_line < 64) return absl::InvalidArgumentError("--max-line must be at least 64");
  if ((config.tls_cert.empty()) != (config.tls_key.empty())) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  std::unique_ptr<Server> server(new Server(config));
  // A random first port: a restarted server does not begin on the ports its
  // predecessor just left in TIME_WAIT.
  uint32_t passive_start = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&passive_start), sizeof(passive_start));
  // Ports reserved for services that bind them by number are not ours to
  // take, whichever range is in use.
  std::vector<PortRange> reserved;
  if (absl::StatusOr<std::vector<PortRange>> r = ReadReservedPorts(); r.ok()) {
    reserved = *std::move(r);
  } else {
    spdlog::warn("{}; no passive port is skipped as reserved", r.status().ToString());
  }
  server->passive_ports_.emplace(passive_range, passive_start, reserved);
  if (server->passive_ports_->available() == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("every port of the passive range %s is reserved (%s)",
                        passive_range.ToString(), kReservedPortsPath));
  }
  spdlog::info("passive ports {} ({} available, {} reserved)", passive_range.ToString(),
               server->passive_ports_->available(),
               passive_range.size() - server->passive_ports_->available());
  absl::StatusOr<std::unique_ptr<Stats>> stats = Stats::Create(server->registry_);
  if (!stats.ok()) return stats.status();
  server->stats_ = *std::move(stats);

  JailOptions jail_options;
  jail_options.follow_symlinks = config.follow_symlinks;
  absl::StatusOr<PathJail> jail = PathJail::Open(config.root, jail_options);
  if (!jail.ok()) return jail.status();
  server->root_jail_.emplace(*std::move(jail));
  server->home_jails_.emplace(*server->root_jail_);
  if (config.user_bandwidth_limit > 0) server->user_rates_.emplace(config.user_bandwidth_limit);

  if (!config.users_file.empty()) {
    absl::StatusOr<UsersFile> users = UsersFile::Load(config.users_file);
    if (!users.ok()) return users.status();
    server->users_.emplace(*std::move(users));
  }
  if (config.anonymous.enabled) {
    absl::StatusOr<Account> anonymous = AnonymousAccount(config.anonymous);
    if (!anonymous.ok()) return anonymous.status();
    absl::StatusOr<PathJail> home = server->root_jail_->OpenSubJail(anonymous->root);
    if (!home.ok()) return home.status();
  }
  absl::StatusOr<std::unique_ptr<PasswordVerifier>> verifier = PasswordVerifier::Create();
  if (!verifier.ok()) return verifier.status();
  server->verifier_ = *std::move(verifier);
  std::string dummy_hash;
  if (server->users_) {
    unsigned char random[24];
    RAND_bytes(random, sizeof(random));
    std::string password;
    for (unsigned char c : random) password += static_cast<char>('a' + c % 26);
    absl::StatusOr<std::string> hash = HashPassword(password);
    if (!hash.ok()) return hash.status();
    dummy_hash = *std::move(hash);
  }
  if (!config.tls_cert.empty()) {
    absl::StatusOr<std::unique_ptr<asio::ssl::context>> tls =
        MakeServerTlsContext(config.tls_cert, config.tls_key);
    if (!tls.ok()) return tls.status();
    server->tls_ = *std::move(tls);
  }
  if (!config.xferlog.empty()) {
    absl::StatusOr<std::unique_ptr<Xferlog>> xferlog = Xferlog::Open(config.xferlog);
    if (!xferlog.ok()) return xferlog.status();
    server->xferlog_ = *std::move(xferlog);
  }
  server->login_guard_ = std::make_unique<LoginGuard>(
      config.lockout_threshold,
      std::chrono::duration_cast<LoginGuard::Clock::duration>(config.lockout_duration));
  server->limiter_ = std::make_unique<ConnectionLimiter>(std::max(1u, config.max_sessions_per_ip));

  SessionContext& ctx = server->session_context_;
  ctx.config = &server->config_;
  ctx.root_jail = &*server->root_jail_;
  ctx.home_jails = &*server->home_jails_;
  ctx.user_rates = server->user_rates_ ? &*server->user_rates_ : nullptr;
  ctx.users = server->users_ ? &*server->users_ : nullptr;
  ctx.verifier = server->verifier_.get();
  ctx.dummy_hash = std::move(dummy_hash);
  ctx.hash_pool = &server->hash_pool_;
  ctx.stats = server->stats_.get();
  ctx.login_guard = server->login_guard_.get();
  ctx.xferlog = server->xferlog_.get();
  ctx.tls = server->tls_.get();
  ctx.passive_ports = &*server->passive_ports_;

  // One acceptor per context on one port (SO_REUSEPORT): the first picks
  // the port when 0 was asked for, the others join it.
  net::ListenOptions options;
  options.address = ListenAddress(config.listen_host);
  options.port = config.listen_port;
  options.reuse_port = true;
  for (std::size_t i = 0; i < server->pool_.size(); ++i) {
    absl::StatusOr<tcp::acceptor> acceptor =
        net::Listen(server->pool_.context(i).get_executor(), options);
    if (!acceptor.ok()) return acceptor.status();
    // Accepted sockets inherit these from the listener (Linux copies its
    // options to every connection it accepts): no setsockopt per session.
    // SO_OOBINLINE keeps an urgent ABOR in the stream.
    error_code ec;
    acceptor->set_option(tcp::no_delay(true), ec);
    if (!ec) acceptor->set_option(asio::socket_base::out_of_band_inline(true), ec);
    if (ec) return absl::InternalError("cannot set control socket options: " + ec.message());
    if (i == 0) {
      server->endpoint_ = net::LocalEndpoint(*acceptor);
      options.port = server->endpoint_.port();
    }
    server->acceptors_.push_back(*std::move(acceptor));
  }
  if (config.admin_enabled) {
    net::ListenOptions admin;
    admin.address = ListenAddress(config.admin_host);
    admin.port = config.admin_port;
    absl::StatusOr<tcp::acceptor> acceptor =
        net::Listen(server->pool_.context(0).get_executor(), admin);
    if (!acceptor.ok()) return acceptor.status();
    server->admin_endpoint_ = net::LocalEndpoint(*acceptor);
    server->admin_.emplace(*std::move(acceptor));
  }
  return server;
}

asio::awaitable<void> Server::AcceptLoop(std::size_t index) {
  tcp::acceptor& acceptor = acceptors_[index];
  asio::io_context& context = pool_.context(index);
  // TCP_NODELAY and SO_OOBINLINE come from the listener (see Create).
  net::SocketOptions inherited;
  inherited.no_delay = false;
  for (;;) {
    net::SocketResult accepted = co_await net::Accept(acceptor, context.get_executor(), inherited);
    if (!acceptor.is_open() || accepted.error == asio::error::operation_aborted) co_return;
    if (accepted.error) {
      // EMFILE and friends: back off instead of spinning.
      spdlog::warn("accept failed: {}", accepted.error.message());
      asio::steady_timer pause(context, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    tcp::socket socket = std::move(accepted.socket);
    const tcp::endpoint peer = accepted.peer;
    if (stats_->sessions() >= static_cast<int64_t>(config_.max_sessions)) {
      stats_->Reject(Rejection::kMaxSessions);
      RefuseConnection(socket, "421 Too many users, try again later.\r\n");
      continue;
    }
    const asio::ip::address address = peer.address();
    if (!limiter_->Acquire(address)) {
      stats_->Reject(Rejection::kMaxSessionsPerIp);
      RefuseConnection(socket, "421 Too many connections from your address.\r\n");
      continue;
    }
    stats_->SessionStarted();
    auto session = std::make_shared<Session>(session_context_, std::move(socket), peer);
    asio::co_spawn(context, Session::Serve(std::move(session)),
                   [this, address](std::exception_ptr e) {
                     limiter_->Release(address);
                     stats_->SessionEnded();
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::error("session failed: {}", ex.what());
                     }
                   });
  }
}

void Server::Run() {
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(pool_.context(i), AcceptLoop(i), asio::detached);
  }
  if (admin_) asio::co_spawn(pool_.context(0), ServeAdmin(*admin_, registry_), asio::detached);
  pool_.HandleSignals([this](int signal_number) {
    spdlog::info("signal {}: stopping", signal_number);
    BeginShutdown();
  });
  spdlog::info("serving {} on {} with {} threads", config_.root, net::FormatEndpoint(endpoint_),
               pool_.size());
  pool_.Run();
  hash_pool_.stop();
  hash_pool_.join();
}

void Server::Shutdown() {
  asio::post(pool_.context(0), [this] { BeginShutdown(); });
}

void Server::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    asio::post(pool_.context(i), [this, i] {
      error_code ignored;
      acceptors_[i].close(ignored);
    });
  }
  if (admin_) {
    error_code ignored;
    admin_->close(ignored);
  }
  asio::co_spawn(pool_.context(0), Drain(), asio::detached);
}

asio::awaitable<void> Server::Drain() {
  const auto until =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(config_.shutdown_grace);
  asio::steady_timer timer(pool_.context(0));
  while (stats_->sessions() > 0 && std::chrono::steady_clock::now() < until) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (stats_->sessions() > 0) {
    spdlog::info("closing {} sessions still open", stats_->sessions());
  }
  pool_.Stop();
}

}  // namespace tpslab::ftpd
