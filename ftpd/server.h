// Server: the ftpd process minus its command line - listeners, the event
// loop threads, shared session state and graceful shutdown.
//
// One io_context per core (IoContextPool); on each, an acceptor bound to the
// same port with SO_REUSEPORT, so the kernel spreads connections over the
// cores and a session never leaves the thread that accepted it.
//
//   ServerConfig config;
//   config.root = "/srv/ftp";
//   absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(config);
//   std::cout << "listening on " << net::FormatEndpoint((*server)->endpoint());
//   (*server)->Run();  // until SIGINT/SIGTERM, then drains and returns
#ifndef TPSLAB_FTPD_SERVER_H_
#define TPSLAB_FTPD_SERVER_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics/registry.h"
#include "common/net/io_context_pool.h"
#include "ftpd/config.h"
#include "ftpd/home_jails.h"
#include "ftpd/limits.h"
#include "ftpd/passive_ports.h"
#include "ftpd/path_jail.h"
#include "ftpd/session.h"
#include "ftpd/shared_rate.h"
#include "ftpd/stats.h"
#include "ftpd/users.h"
#include "ftpd/xferlog.h"

namespace tpslab::ftpd {

class Server {
 public:
  // Opens everything the server needs (root, users file, TLS key, xferlog)
  // and binds its listeners; nothing is served until Run(). Errors name
  // what failed, e.g. "cannot bind 127.0.0.1:21: Address already in use".
  static absl::StatusOr<std::unique_ptr<Server>> Create(const ServerConfig& config);
  ~Server();

  // The FTP listening endpoint (the real port after port 0).
  boost::asio::ip::tcp::endpoint endpoint() const { return endpoint_; }
  // The admin endpoint, if configured.
  std::optional<boost::asio::ip::tcp::endpoint> admin_endpoint() const { return admin_endpoint_; }

  // Serves until SIGINT/SIGTERM (or Shutdown()): then stops accepting, gives
  // open sessions up to shutdown_grace to finish, and returns.
  void Run();

  // Starts the graceful shutdown Run() does on a signal. Thread-safe.
  void Shutdown();

  // The metrics registry (ftpd_* counters).
  const metrics::Registry& registry() const { return registry_; }

 private:
  explicit Server(const ServerConfig& config);
  boost::asio::awaitable<void> AcceptLoop(std::size_t index);
  boost::asio::awaitable<void> Drain();
  void BeginShutdown();

  ServerConfig config_;
  metrics::Registry registry_;
  std::unique_ptr<Stats> stats_;
  std::optional<PathJail> root_jail_;
  std::optional<HomeJails> home_jails_;  // Beneath root_jail_.
  std::optional<UserRates> user_rates_;  // With --user-bandwidth-limit.
  std::optional<UsersFile> users_;
  std::unique_ptr<PasswordVerifier> verifier_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<Xferlog> xferlog_;
  std::unique_ptr<LoginGuard> login_guard_;
  std::unique_ptr<ConnectionLimiter> limiter_;
  std::optional<PassivePorts> passive_ports_;
  SessionContext session_context_;
  // Destroyed before the pool's contexts are (members go in reverse order),
  // but only after Run() has joined it.
  net::IoContextPool pool_;
  boost::asio::thread_pool hash_pool_;
  std::vector<boost::asio::ip::tcp::acceptor> acceptors_;
  std::optional<boost::asio::ip::tcp::acceptor> admin_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::optional<boost::asio::ip::tcp::endpoint> admin_endpoint_;
  bool shutting_down_ = false;  // touched on context 0 only
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_SERVER_H_
