// The admin HTTP endpoint: serves the metrics registry in the Prometheus
// text format at GET /metrics (anything else: 404), one request per
// connection, each bounded in size (8 KiB) and time (5 s).
//
//   co_spawn(executor, ServeAdmin(acceptor, registry), detached);
//   $ curl http://127.0.0.1:9121/metrics
#ifndef TPSLAB_FTPD_ADMIN_H_
#define TPSLAB_FTPD_ADMIN_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/metrics/registry.h"

namespace tpslab::ftpd {

// Accepts connections on `acceptor` until it is closed and answers each
// with the rendering of `registry`, which must outlive the loop.
boost::asio::awaitable<void> ServeAdmin(boost::asio::ip::tcp::acceptor& acceptor,
                                        const metrics::Registry& registry);

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_ADMIN_H_
