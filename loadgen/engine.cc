#include "loadgen/engine.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <cmath>
#include <deque>
#include <exception>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/net/io_context_pool.h"
#include "common/net/tcp.h"
#include "common/parse/url.h"
#include "loadgen/ftp_client.h"
#include "loadgen/http_client.h"
#include "loadgen/scenario.h"
#include "loadgen/tls_client.h"
#include "loadgen/tls_options.h"
#include "spdlog/spdlog.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds ToNanos(const google::protobuf::Duration& d) {
  return std::chrono::seconds(d.seconds()) + std::chrono::nanoseconds(d.nanos());
}
double ToSeconds(const google::protobuf::Duration& d) { return d.seconds() + d.nanos() / 1e9; }

// Whether `text` has a ${...} reference, expanded per virtual user.
bool HasTemplate(std::string_view text) { return text.find("${") != std::string_view::npos; }

int64_t Micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec / 1e6;
}

uint64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Users waiting for each other at a rendezvous step.
struct RendezvousPoint {
  std::mutex mutex;
  uint64_t generation = 0;  // Guarded by mutex; bumped when the group goes.
  uint32_t arrived = 0;     // Guarded by mutex.
};

struct TargetRuntime {
  std::string name;
  parse::Url url;
  std::chrono::nanoseconds timeout{std::chrono::seconds(10)};
  bool http = false;
  // ftps and https targets; each thread makes its own context from these.
  std::optional<TlsOptions> tls;
};

struct StepRuntime {
  const v1::Step* step = nullptr;
  // Stats index; -1 for think and rendezvous steps.
  int op = -1;
  size_t target = 0;
  // HTTP: the request (built once, unless `templated`: then its parts have
  // ${...} in them and it is built per request from them, so that
  // Content-Length counts the expanded body), whether it is a HEAD request,
  // and the status it expects (0: any 2xx).
  std::string request;
  bool templated = false;
  struct {
    std::string method, path, host, body;
    std::map<std::string, std::string> headers;
    bool keep_alive = true;
  } parts;
  bool head = false;
  int expect_status = 0;
  // Upload content from a local file.
  std::shared_ptr<const std::string> file_content;
  RendezvousPoint* rendezvous = nullptr;
};

struct TxRuntime {
  const v1::Transaction* tx = nullptr;
  size_t op = 0;
  std::vector<StepRuntime> steps;
  Clock::duration pacing{};
};

struct VirtualUser {
  uint64_t index = 0;
  uint64_t iteration = 0;
  std::mt19937_64 rng;
  const std::vector<std::string>* row = nullptr;
  std::vector<std::unique_ptr<FtpClient>> ftp;    // Per target, created on use.
  std::vector<std::unique_ptr<HttpClient>> http;  // Per target, created on use.
};

// State of one pool thread; touched only from its context, except `stats`
// (read by the control thread) and `in_flight` (atomic).
struct ThreadState {
  ThreadState(size_t ops, bool open) : stats(ops, open) {}
  asio::io_context* context = nullptr;
  ThreadStats stats;
  // Open model.
  size_t cap = 0;
  std::deque<Clock::time_point> backlog;
  std::vector<std::unique_ptr<VirtualUser>> users;
  std::vector<VirtualUser*> idle;
  size_t in_flight = 0;
};

constexpr size_t kMaxBacklog = 1'000'000;

// Connects once; returns the error, if any.
asio::awaitable<boost::system::error_code> ProbeTarget(std::string host, uint16_t port,
                                                       std::chrono::nanoseconds timeout) {
  net::SocketResult s = co_await net::Connect(host, port, {}, timeout);
  co_return s.error;
}

}  // namespace

double LevelAt(const google::protobuf::RepeatedPtrField<v1::Stage>& stages, double t,
               uint32_t* stage) {
  double from = 0;
  double start = 0;
  for (int i = 0; i < stages.size(); ++i) {
    const double ramp = ToSeconds(stages[i].duration());
    const double hold = ToSeconds(stages[i].hold());
    if (stage) *stage = static_cast<uint32_t>(i);
    if (t < start + ramp) return from + (stages[i].target() - from) * (t - start) / ramp;
    if (t < start + ramp + hold) return stages[i].target();
    start += ramp + hold;
    from = stages[i].target();
  }
  return from;
}

double TotalSeconds(const google::protobuf::RepeatedPtrField<v1::Stage>& stages) {
  double total = 0;
  for (const v1::Stage& s : stages) total += ToSeconds(s.duration()) + ToSeconds(s.hold());
  return total;
}

double ArrivalTime(const google::protobuf::RepeatedPtrField<v1::Stage>& stages, double n) {
  // The number of arrivals by time t is the integral of the rate; walk the
  // piecewise-linear segments and solve within the one that contains n.
  double from = 0;
  double start = 0;
  double arrivals = 0;
  for (const v1::Stage& s : stages) {
    const double segments[2][3] = {{ToSeconds(s.duration()), from, s.target()},
                                   {ToSeconds(s.hold()), s.target(), s.target()}};
    for (const auto& seg : segments) {
      const double length = seg[0], r0 = seg[1], r1 = seg[2];
      if (length <= 0) continue;
      const double in_segment = (r0 + r1) / 2 * length;
      if (n < arrivals + in_segment) {
        const double need = n - arrivals;
        const double a = (r1 - r0) / (2 * length);
        double x;
        if (std::abs(a) < 1e-12) {
          x = need / r0;
        } else {
          x = (-r0 + std::sqrt(std::max(0.0, r0 * r0 + 4 * a * need))) / (2 * a);
        }
        return start + std::clamp(x, 0.0, length);
      }
      arrivals += in_segment;
      start += length;
    }
    from = s.target();
  }
  return std::numeric_limits<double>::infinity();
}

class Engine::Impl {
 public:
  Impl(v1::Scenario scenario, EngineOptions options)
      : scenario_(std::move(scenario)), options_(std::move(options)) {
    if (options_.threads == 0) {
      options_.threads = std::max(1u, std::thread::hardware_concurrency());
    }
    if (options_.share.count == 0) options_.share = RunShare{};
    assert(options_.share.index < options_.share.count);
    open_ = scenario_.has_open();
    BuildOps();
  }

  const std::vector<OpInfo>& ops() const { return ops_; }

  void Stop() {
    interrupted_.store(true);
    stopping_.store(true);
  }

  absl::Status Preflight();
  absl::StatusOr<RunResult> Run();

 private:
  void BuildOps();
  absl::Status Prepare();
  void Spawn(asio::io_context& context, asio::awaitable<void> coroutine);
  asio::awaitable<void> ClosedUser(uint64_t index);
  asio::awaitable<void> OpenScheduler(size_t thread, size_t scheduler, size_t schedulers);
  asio::awaitable<void> OpenWorker(ThreadState& ts, VirtualUser* vu, Clock::time_point intended);
  // Runs one transaction; latency counts from `intended` (open model), or
  // from its actual start when nullopt (closed model).
  asio::awaitable<void> RunTransaction(VirtualUser& vu, ThreadState& ts,
                                       std::optional<Clock::time_point> intended);
  // The user's HTTP client for `step`'s target, created on first use on the
  // thread's context; null, with `error` set, when the target's TLS config
  // cannot be made.
  HttpClient* HttpClientFor(VirtualUser& vu, ThreadState& ts, const StepRuntime& step,
                            StepResult* error);
  asio::awaitable<StepResult> RunFtp(VirtualUser& vu, const StepRuntime& step);
  asio::awaitable<void> Sleep(Clock::duration d);
  asio::awaitable<void> Rendezvous(const StepRuntime& step);
  std::string Expand(const std::string& text, const VirtualUser& vu) const;
  void InitUser(VirtualUser& vu, uint64_t index);
  IntervalReport Collect(double start_s, double end_s, double cpu_before, double now_s);
  void NoteError(const std::string& tx, const std::string& step, const StepResult& r);

  v1::Scenario scenario_;
  EngineOptions options_;
  bool open_ = false;
  std::vector<OpInfo> ops_;
  std::vector<TargetRuntime> targets_;
  std::vector<TxRuntime> transactions_;
  std::vector<uint64_t> cumulative_weights_;
  DataTable data_;
  std::map<std::string, std::unique_ptr<RendezvousPoint>> rendezvous_;

  std::unique_ptr<net::IoContextPool> pool_;
  std::vector<std::unique_ptr<ThreadState>> threads_;
  std::unique_ptr<StatsMerger> merger_;
  Clock::time_point start_;
  double total_s_ = 0;

  std::atomic<bool> stopping_{false};
  // When the load ended (seconds since start; infinity while it runs) and
  // how many users were active then.
  std::atomic<double> load_end_s_{std::numeric_limits<double>::infinity()};
  std::atomic<uint32_t> active_at_load_end_{0};
  std::atomic<bool> interrupted_{false};
  // Closed model: this engine's users wanted now (local indexes, see
  // EngineOptions::share); running users; per-user running flags.
  std::atomic<uint64_t> desired_users_{0};
  std::atomic<int64_t> active_{0};
  std::unique_ptr<std::atomic<bool>[]> running_;
  size_t max_users_ = 0;

  std::mutex errors_mutex_;
  std::vector<std::string> sample_errors_;  // Guarded by errors_mutex_.
  std::atomic<uint64_t> errors_logged_{0};
};

void Engine::Impl::BuildOps() {
  for (const v1::Transaction& tx : scenario_.transactions()) ops_.push_back({tx.name(), true});
  for (const v1::Transaction& tx : scenario_.transactions()) {
    for (const v1::Step& step : tx.steps()) {
      if (step.has_ftp() || step.has_http()) {
        ops_.push_back({absl::StrCat(tx.name(), "/", step.name()), false});
      }
    }
  }
}

absl::Status Engine::Impl::Prepare() {
  for (const v1::Target& t : scenario_.targets()) {
    absl::StatusOr<parse::Url> url = parse::ParseUrl(t.url());
    if (!url.ok()) return url.status();
    TargetRuntime rt;
    rt.name = t.name();
    rt.url = *url;
    rt.http = url->scheme == parse::Scheme::kHttp || url->scheme == parse::Scheme::kHttps;
    if (t.has_timeout()) rt.timeout = ToNanos(t.timeout());
    if (url->UsesTls()) {
      TlsOptions tls = TargetTlsOptions(t);
      // A CA file that cannot be loaded fails the run before it starts.
      absl::Status loaded = MakeClientTlsContext(tls).status();
      if (!loaded.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("target '", t.name(), "': ", loaded.message()));
      }
      rt.tls = std::move(tls);
    }
    targets_.push_back(std::move(rt));
  }
  absl::StatusOr<DataTable> data = ParseDataTable(scenario_.data());
  if (!data.ok()) return data.status();
  data_ = *std::move(data);

  size_t step_op = scenario_.transactions_size();
  uint64_t weights = 0;
  std::map<std::string, std::shared_ptr<const std::string>> files;
  for (int i = 0; i < scenario_.transactions_size(); ++i) {
    const v1::Transaction& tx = scenario_.transactions(i);
    TxRuntime rt;
    rt.tx = &tx;
    rt.op = i;
    rt.pacing = ToNanos(tx.pacing());
    for (const v1::Step& step : tx.steps()) {
      StepRuntime s;
      s.step = &step;
      for (size_t t = 0; t < targets_.size(); ++t) {
        if (targets_[t].name == step.target()) s.target = t;
      }
      if (step.has_ftp() || step.has_http()) s.op = static_cast<int>(step_op++);
      if (step.has_http()) {
        const v1::HttpStep& h = step.http();
        const TargetRuntime& target = targets_[s.target];
        std::map<std::string, std::string> headers(h.headers().begin(), h.headers().end());
        s.parts = {h.method().empty() ? "GET" : h.method(),
                   h.path().empty() ? "/" : h.path(),
                   target.url.HostPort(),
                   h.body(),
                   std::move(headers),
                   !h.has_keep_alive() || h.keep_alive()};
        // What is expanded per request: the path, the body and header values.
        s.templated = HasTemplate(s.parts.path) || HasTemplate(s.parts.body) ||
                      std::any_of(s.parts.headers.begin(), s.parts.headers.end(),
                                  [](const auto& header) { return HasTemplate(header.second); });
        if (!s.templated) {
          s.request = HttpClient::BuildRequest(s.parts.method, s.parts.path, s.parts.host,
                                               s.parts.headers, s.parts.body, s.parts.keep_alive);
        }
        s.head = h.method() == "HEAD";
        s.expect_status = static_cast<int>(h.expect_status());
      }
      if (step.has_ftp() && !step.ftp().local_file().empty()) {
        const std::string& path = step.ftp().local_file();
        auto& content = files[path];
        if (!content) {
          std::ifstream in(path, std::ios::binary);
          if (!in) return absl::NotFoundError(absl::StrCat("cannot read upload file '", path, "'"));
          std::stringstream buffer;
          buffer << in.rdbuf();
          content = std::make_shared<const std::string>(buffer.str());
        }
        s.file_content = content;
      }
      if (step.has_rendezvous()) {
        auto& point =
            rendezvous_[absl::StrCat(tx.name(), "/", step.rendezvous().name(), "/", step.name())];
        if (!point) point = std::make_unique<RendezvousPoint>();
        s.rendezvous = point.get();
      }
      rt.steps.push_back(std::move(s));
    }
    transactions_.push_back(std::move(rt));
    weights += tx.weight();
    cumulative_weights_.push_back(weights);
  }
  return absl::OkStatus();
}

absl::Status Engine::Impl::Preflight() {
  if (targets_.empty()) {
    absl::Status s = Prepare();
    if (!s.ok()) return s;
  }
  asio::io_context context;
  std::vector<std::string> failures(targets_.size());
  for (size_t i = 0; i < targets_.size(); ++i) {
    const TargetRuntime& target = targets_[i];
    const auto timeout =
        std::min<std::chrono::nanoseconds>(target.timeout, std::chrono::seconds(5));
    asio::co_spawn(context, ProbeTarget(target.url.host, target.url.port, timeout),
                   [&failures, i](std::exception_ptr, boost::system::error_code ec) {
                     if (ec) failures[i] = ec.message();
                   });
  }
  context.run();
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (failures[i].empty()) continue;
    const TargetRuntime& target = targets_[i];
    return absl::UnavailableError(absl::StrCat("cannot reach target '", target.name, "' (",
                                               target.url.Redacted(), ") at ",
                                               target.url.HostPort(), ": ", failures[i]));
  }
  return absl::OkStatus();
}

void Engine::Impl::Spawn(asio::io_context& context, asio::awaitable<void> coroutine) {
  asio::co_spawn(context, std::move(coroutine), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("virtual user failed: {}", ex.what());
    }
  });
}

void Engine::Impl::InitUser(VirtualUser& vu, uint64_t index) {
  vu.index = index;
  vu.rng.seed(0x9e3779b97f4a7c15ULL * (index + 1));
  if (!data_.rows.empty()) vu.row = &data_.rows[index % data_.rows.size()];
  vu.ftp.resize(targets_.size());
  vu.http.resize(targets_.size());
}

std::string Engine::Impl::Expand(const std::string& text, const VirtualUser& vu) const {
  if (!HasTemplate(text)) return text;
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("${", i);
    const size_t close = open == std::string::npos ? open : text.find('}', open);
    if (close == std::string::npos) {
      out.append(text, i);
      break;
    }
    out.append(text, i, open - i);
    const std::string name = text.substr(open + 2, close - open - 2);
    bool found = false;
    if (vu.row) {
      for (size_t c = 0; c < data_.columns.size(); ++c) {
        if (data_.columns[c] == name) {
          out += (*vu.row)[c];
          found = true;
        }
      }
    }
    if (!found) {
      if (name == "vu" || name == "user") {
        out += std::to_string(vu.index);
      } else if (name == "iteration") {
        out += std::to_string(vu.iteration);
      } else if (name == "uuid") {
        thread_local std::mt19937_64 rng(std::random_device{}());
        char buf[33];
        snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                 static_cast<unsigned long long>(rng()));
        out += buf;
      } else {
        out.append(text, open, close - open + 1);  // Unknown: left as written.
      }
    }
    i = close + 1;
  }
  return out;
}

asio::awaitable<void> Engine::Impl::Sleep(Clock::duration d) {
  // In slices, so that a stop request is not held up by a long think time.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const Clock::time_point until = Clock::now() + d;
  while (!stopping_.load(std::memory_order_relaxed)) {
    const Clock::time_point now = Clock::now();
    if (now >= until) break;
    timer.expires_at(std::min(until, now + std::chrono::milliseconds(100)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> Engine::Impl::Rendezvous(const StepRuntime& step) {
  const v1::Rendezvous& r = step.step->rendezvous();
  RendezvousPoint& point = *step.rendezvous;
  uint64_t needed = r.users();
  if (needed == 0) needed = std::max<int64_t>(1, active_.load());
  uint64_t generation;
  {
    std::lock_guard lock(point.mutex);
    generation = point.generation;
    if (++point.arrived >= needed) {
      point.arrived = 0;
      ++point.generation;
      co_return;
    }
  }
  const Clock::duration timeout = r.has_timeout() ? Clock::duration(ToNanos(r.timeout()))
                                                  : Clock::duration(std::chrono::seconds(30));
  const Clock::time_point until = Clock::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping_.load(std::memory_order_relaxed) && Clock::now() < until) {
    {
      std::lock_guard lock(point.mutex);
      if (point.generation != generation) co_return;
    }
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::lock_guard lock(point.mutex);
  if (point.generation == generation && point.arrived > 0) --point.arrived;
}

asio::awaitable<StepResult> Engine::Impl::RunFtp(VirtualUser& vu, const StepRuntime& s) {
  const v1::FtpStep& f = s.step->ftp();
  const TargetRuntime& target = targets_[s.target];
  auto& slot = vu.ftp[s.target];
  if (!slot) {
    // Not in one expression: GCC 12 mishandles temporaries around co_await.
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    FtpEndpoint endpoint;
    endpoint.host = target.url.host;
    endpoint.port = target.url.port;
    endpoint.timeout = target.timeout;
    if (target.tls) {
      absl::StatusOr<TlsClientConfig> tls = ThreadTlsClientConfig(*target.tls, target.url.host);
      if (!tls.ok())
        co_return StepResult::Fail(v1::ERROR_CLASS_TLS, std::string(tls.status().message()));
      endpoint.tls = *std::move(tls);
    }
    slot = std::make_unique<FtpClient>(executor, std::move(endpoint));
  }
  FtpClient& ftp = *slot;
  const int expect = static_cast<int>(f.expect_code());
  const std::string path = Expand(f.path(), vu);
  switch (f.op()) {
    case v1::FtpStep::OP_CONNECT:
      co_return co_await ftp.Connect(expect);
    case v1::FtpStep::OP_LOGIN: {
      std::string user = target.url.user.empty() ? "anonymous" : target.url.user;
      std::string password = target.url.password;
      if (vu.row) {
        for (size_t c = 0; c < data_.columns.size(); ++c) {
          if (data_.columns[c] == "user") user = (*vu.row)[c];
          if (data_.columns[c] == "password") password = (*vu.row)[c];
        }
      }
      co_return co_await ftp.Login(user, password, expect);
    }
    case v1::FtpStep::OP_CWD: {
      const std::string command = "CWD " + path;
      co_return co_await ftp.Simple(command, expect);
    }
    case v1::FtpStep::OP_PWD:
      co_return co_await ftp.Simple("PWD", expect);
    case v1::FtpStep::OP_LIST:
      co_return co_await ftp.Retrieve("LIST", path, f.data_mode(), 0, expect);
    case v1::FtpStep::OP_NLST:
      co_return co_await ftp.Retrieve("NLST", path, f.data_mode(), 0, expect);
    case v1::FtpStep::OP_MLSD:
      co_return co_await ftp.Retrieve("MLSD", path, f.data_mode(), 0, expect);
    case v1::FtpStep::OP_UPLOAD:
      co_return co_await ftp.Store("STOR", path, f.size_bytes(), s.file_content, f.data_mode(),
                                   expect);
    case v1::FtpStep::OP_APPEND:
      co_return co_await ftp.Store("APPE", path, f.size_bytes(), s.file_content, f.data_mode(),
                                   expect);
    case v1::FtpStep::OP_DOWNLOAD:
      co_return co_await ftp.Retrieve("RETR", path, f.data_mode(), f.expect_size_bytes(), expect);
    case v1::FtpStep::OP_SIZE: {
      const std::string command = "SIZE " + path;
      co_return co_await ftp.Simple(command, expect);
    }
    case v1::FtpStep::OP_MDTM: {
      const std::string command = "MDTM " + path;
      co_return co_await ftp.Simple(command, expect);
    }
    case v1::FtpStep::OP_DELETE: {
      const std::string command = "DELE " + path;
      co_return co_await ftp.Simple(command, expect);
    }
    case v1::FtpStep::OP_MKDIR: {
      const std::string command = "MKD " + path;
      co_return co_await ftp.Simple(command, expect);
    }
    case v1::FtpStep::OP_RMDIR: {
      const std::string command = "RMD " + path;
      co_return co_await ftp.Simple(command, expect);
    }
    case v1::FtpStep::OP_RENAME: {
      std::string to = Expand(f.to(), vu);
      co_return co_await ftp.Rename(path, std::move(to), expect);
    }
    case v1::FtpStep::OP_NOOP:
      co_return co_await ftp.Simple("NOOP", expect);
    case v1::FtpStep::OP_QUIT:
      co_return co_await ftp.Quit(expect);
    default:
      co_return StepResult::Fail(v1::ERROR_CLASS_OTHER, "unknown FTP operation");
  }
}

HttpClient* Engine::Impl::HttpClientFor(VirtualUser& vu, ThreadState& ts, const StepRuntime& s,
                                        StepResult* error) {
  std::unique_ptr<HttpClient>& slot = vu.http[s.target];
  if (slot) return slot.get();
  const TargetRuntime& target = targets_[s.target];
  HttpEndpoint endpoint;
  endpoint.host = target.url.host;
  endpoint.port = target.url.port;
  endpoint.timeout = target.timeout;
  if (target.tls) {
    absl::StatusOr<TlsClientConfig> tls = ThreadTlsClientConfig(*target.tls, target.url.host);
    if (!tls.ok()) {
      *error = StepResult::Fail(v1::ERROR_CLASS_TLS, std::string(tls.status().message()));
      return nullptr;
    }
    endpoint.tls = *std::move(tls);
  }
  // The user's coroutines run on its thread's context.
  slot = std::make_unique<HttpClient>(ts.context->get_executor(), std::move(endpoint));
  return slot.get();
}

void Engine::Impl::NoteError(const std::string& tx, const std::string& step, const StepResult& r) {
  const uint64_t n = errors_logged_.fetch_add(1, std::memory_order_relaxed);
  if (n >= 10) return;
  std::string message = absl::StrCat(tx, "/", step, ": ", ErrorClassName(r.error), ": ", r.message);
  spdlog::warn("{}", message);
  std::lock_guard lock(errors_mutex_);
  sample_errors_.push_back(std::move(message));
}

asio::awaitable<void> Engine::Impl::RunTransaction(VirtualUser& vu, ThreadState& ts,
                                                   std::optional<Clock::time_point> intended) {
  size_t choice = 0;
  if (transactions_.size() > 1) {
    const uint64_t pick = vu.rng() % cumulative_weights_.back();
    while (cumulative_weights_[choice] <= pick) ++choice;
  }
  const TxRuntime& tx = transactions_[choice];
  const Clock::time_point actual_start = Clock::now();
  const Clock::time_point latency_start = intended.value_or(actual_start);
  // The latest clock reading: a step starts when the one before it ended (the
  // recording in between takes well under the histograms' resolution), so
  // a request costs one clock read.
  Clock::time_point now = actual_start;
  ++vu.iteration;
  v1::ErrorClass error = v1::ERROR_CLASS_UNSPECIFIED;
  uint64_t sent = 0, received = 0;
  for (const StepRuntime& s : tx.steps) {
    if (s.step->has_think()) {
      const v1::ThinkTime& think = s.step->think();
      double seconds = ToSeconds(think.mean());
      if (think.distribution() == v1::ThinkTime::DISTRIBUTION_UNIFORM) {
        seconds = std::uniform_real_distribution<double>(ToSeconds(think.min()),
                                                         ToSeconds(think.max()))(vu.rng);
      } else if (think.distribution() == v1::ThinkTime::DISTRIBUTION_EXPONENTIAL && seconds > 0) {
        seconds = std::exponential_distribution<double>(1 / seconds)(vu.rng);
      }
      co_await Sleep(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
      now = Clock::now();
      continue;
    }
    if (s.step->has_rendezvous()) {
      co_await Rendezvous(s);
      now = Clock::now();
      continue;
    }
    const Clock::time_point step_start = now;
    StepResult r;
    if (s.step->has_ftp()) {
      r = co_await RunFtp(vu, s);
    } else if (HttpClient* http = HttpClientFor(vu, ts, s, &r)) {
      if (s.templated) {
        std::map<std::string, std::string> headers;
        for (const auto& [name, value] : s.parts.headers) headers[name] = Expand(value, vu);
        const std::string request =
            HttpClient::BuildRequest(s.parts.method, Expand(s.parts.path, vu), s.parts.host,
                                     headers, Expand(s.parts.body, vu), s.parts.keep_alive);
        r = co_await http->Send(request, s.head, s.expect_status, step_start);
      } else {
        r = co_await http->Send(s.request, s.head, s.expect_status, step_start);
      }
    }
    const Clock::time_point step_end = Clock::now();
    now = step_end;
    const size_t op = static_cast<size_t>(s.op);
    ts.stats.AddBytes(op, r.bytes_sent, r.bytes_received);
    sent += r.bytes_sent;
    received += r.bytes_received;
    if (!r.ok()) {
      ts.stats.RecordError(op, r.error);
      NoteError(tx.tx->name(), s.step->name(), r);
      error = r.error;
      break;
    }
    const int64_t us = Micros(step_end - step_start);
    ts.stats.RecordSuccess(op, us, us);
  }
  const Clock::time_point end = now;
  ts.stats.AddBytes(tx.op, sent, received);
  if (error != v1::ERROR_CLASS_UNSPECIFIED) {
    ts.stats.RecordError(tx.op, error);
  } else {
    ts.stats.RecordSuccess(tx.op, Micros(end - latency_start), Micros(end - actual_start));
  }
  if (tx.pacing > Clock::duration::zero() && !open_) {
    const Clock::time_point next = actual_start + tx.pacing;
    if (next > Clock::now()) co_await Sleep(next - Clock::now());
  }
}

asio::awaitable<void> Engine::Impl::ClosedUser(uint64_t index) {
  ThreadState& ts = *threads_[index % threads_.size()];
  VirtualUser vu;
  InitUser(vu, GlobalUser(index, options_.share));
  while (!stopping_.load(std::memory_order_relaxed) &&
         index < desired_users_.load(std::memory_order_relaxed)) {
    co_await RunTransaction(vu, ts, std::nullopt);
  }
  running_[index].store(false);
  active_.fetch_sub(1);
}

asio::awaitable<void> Engine::Impl::OpenWorker(ThreadState& ts, VirtualUser* vu,
                                               Clock::time_point intended) {
  Clock::duration max_wait = std::chrono::seconds(10);
  for (const TargetRuntime& t : targets_) max_wait = std::max<Clock::duration>(max_wait, t.timeout);
  for (;;) {
    co_await RunTransaction(*vu, ts, intended);
    bool found = false;
    while (!ts.backlog.empty()) {
      const Clock::time_point next = ts.backlog.front();
      ts.backlog.pop_front();
      if (stopping_.load(std::memory_order_relaxed) || Clock::now() - next > max_wait) {
        ts.stats.AddDropped();
        continue;
      }
      intended = next;
      found = true;
      break;
    }
    if (!found) break;
  }
  ts.idle.push_back(vu);
  --ts.in_flight;
  active_.fetch_sub(1);
}

asio::awaitable<void> Engine::Impl::OpenScheduler(size_t thread, size_t scheduler,
                                                  size_t schedulers) {
  ThreadState& ts = *threads_[thread];
  const auto& stages = scenario_.open().stages();
  asio::steady_timer timer(*ts.context);
  for (uint64_t k = scheduler;; k += schedulers) {
    const double t = ArrivalTime(stages, static_cast<double>(k));
    if (!(t < total_s_)) break;
    const Clock::time_point intended =
        start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t));
    if (intended > Clock::now()) {
      timer.expires_at(intended);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (stopping_.load(std::memory_order_relaxed)) break;
    if (ts.in_flight < ts.cap) {
      ++ts.in_flight;
      active_.fetch_add(1);
      VirtualUser* vu;
      if (!ts.idle.empty()) {
        vu = ts.idle.back();
        ts.idle.pop_back();
      } else {
        ts.users.push_back(std::make_unique<VirtualUser>());
        vu = ts.users.back().get();
        InitUser(*vu, GlobalUser(ts.users.size() * threads_.size() + thread, options_.share));
      }
      Spawn(*ts.context, OpenWorker(ts, vu, intended));
    } else if (ts.backlog.size() < kMaxBacklog) {
      ts.backlog.push_back(intended);
    } else {
      ts.stats.AddDropped();
    }
  }
}

IntervalReport Engine::Impl::Collect(double start_s, double end_s, double cpu_before,
                                     double now_cpu) {
  IntervalReport report;
  report.start_s = start_s;
  report.end_s = end_s;
  report.ops = merger_->Collect();
  report.dropped = merger_->CollectDropped();
  const auto& stages = open_ ? scenario_.open().stages() : scenario_.closed().stages();
  const double level = LevelAt(stages, std::min(end_s, total_s_), &report.stage);
  if (open_) report.target_rate = level;
  // The interval in which the load ended counts the users that were busy
  // until then, not the ones still draining when it is collected.
  const double load_end_s = load_end_s_.load();
  report.active = start_s < load_end_s && end_s >= load_end_s
                      ? active_at_load_end_.load()
                      : static_cast<uint32_t>(std::max<int64_t>(0, active_.load()));
  report.cpu_seconds = now_cpu - cpu_before;
  report.rss_bytes = RssBytes();
  const double length = end_s - start_s;
  report.generator_saturated =
      length > 0 && report.cpu_seconds / (length * static_cast<double>(threads_.size())) > 0.9;
  return report;
}

absl::StatusOr<RunResult> Engine::Impl::Run() {
  if (targets_.empty()) {
    absl::Status s = Prepare();
    if (!s.ok()) return s;
  }
  const auto& stages = open_ ? scenario_.open().stages() : scenario_.closed().stages();
  total_s_ = TotalSeconds(stages);
  pool_ = std::make_unique<net::IoContextPool>(options_.threads);
  std::vector<ThreadStats*> stats;
  for (size_t i = 0; i < pool_->size(); ++i) {
    threads_.push_back(std::make_unique<ThreadState>(ops_.size(), open_));
    threads_.back()->context = &pool_->context(i);
    stats.push_back(&threads_.back()->stats);
  }
  merger_ = std::make_unique<StatsMerger>(ops_, stats);
  if (!open_) {
    double peak = 0;
    for (const v1::Stage& s : stages) peak = std::max(peak, s.target());
    max_users_ = LocalUsers(static_cast<uint64_t>(std::ceil(peak)), options_.share);
    running_ = std::make_unique<std::atomic<bool>[]>(max_users_ + 1);
  }
  if (options_.handle_signals) pool_->HandleSignals([this](int) { Stop(); });

  Clock::duration interval = std::chrono::seconds(1);
  if (scenario_.has_interval()) interval = ToNanos(scenario_.interval());
  Clock::duration drain = std::chrono::seconds(1);
  for (const TargetRuntime& t : targets_) drain = std::max<Clock::duration>(drain, t.timeout);
  drain += std::chrono::seconds(1);

  RunResult result;
  result.ops = ops_;
  result.open_model = open_;
  result.threads = threads_.size();
  result.start_epoch_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double cpu_start = CpuSeconds();
  start_ = Clock::now();

  if (open_) {
    const size_t cap = std::max<uint32_t>(1, scenario_.open().max_concurrency());
    const size_t schedulers = std::min(threads_.size(), cap);
    for (size_t j = 0; j < schedulers; ++j) {
      threads_[j]->cap = cap / schedulers + (j < cap % schedulers ? 1 : 0);
      Spawn(*threads_[j]->context, OpenScheduler(j, j, schedulers));
    }
  }

  std::thread control([&] {
    Clock::time_point interval_start = start_;
    double cpu_before = cpu_start;
    auto report = [&](Clock::time_point now) {
      const double cpu_now = CpuSeconds();
      IntervalReport r =
          Collect(std::chrono::duration<double>(interval_start - start_).count(),
                  std::chrono::duration<double>(now - start_).count(), cpu_before, cpu_now);
      r.run_start_epoch_s = result.start_epoch_s;
      cpu_before = cpu_now;
      interval_start = now;
      result.max_rss_bytes = std::max(result.max_rss_bytes, r.rss_bytes);
      if (r.generator_saturated && !result.generator_saturated) {
        spdlog::warn(
            "loadgen used {:.0f}% of its {} threads' CPU: the generator may be the bottleneck",
            100 * r.cpu_seconds / ((r.end_s - r.start_s) * threads_.size()), threads_.size());
      }
      result.generator_saturated = result.generator_saturated || r.generator_saturated;
      if (options_.on_interval) options_.on_interval(r);
    };
    Clock::time_point next_report = start_ + interval;
    Clock::time_point load_end;
    for (;;) {
      const Clock::time_point now = Clock::now();
      const double t = std::chrono::duration<double>(now - start_).count();
      if (stopping_.load() || pool_->stopped() || t >= total_s_) {
        load_end = now;
        active_at_load_end_.store(static_cast<uint32_t>(std::max<int64_t>(0, active_.load())));
        load_end_s_.store(t);
        break;
      }
      if (!open_) {
        const double level = LevelAt(stages, t, nullptr);
        const uint64_t desired = std::min<uint64_t>(
            max_users_, LocalUsers(static_cast<uint64_t>(std::llround(level)), options_.share));
        desired_users_.store(desired);
        for (uint64_t i = 0; i < desired; ++i) {
          if (!running_[i].load()) {
            running_[i].store(true);
            active_.fetch_add(1);
            Spawn(pool_->context(i % pool_->size()), ClosedUser(i));
          }
        }
      }
      if (now >= next_report) {
        report(now);
        next_report += interval;
      }
      std::this_thread::sleep_until(std::min(next_report, now + std::chrono::milliseconds(5)));
    }
    result.interrupted =
        interrupted_.load() || std::chrono::duration<double>(load_end - start_).count() < total_s_;
    result.elapsed_s =
        result.interrupted ? std::chrono::duration<double>(load_end - start_).count() : total_s_;
    stopping_.store(true);
    desired_users_.store(0);
    while (active_.load() > 0 && !pool_->stopped() && Clock::now() < load_end + drain) {
      const Clock::time_point now = Clock::now();
      if (now >= next_report) {
        report(now);
        next_report += interval;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pool_->Stop();
    report(Clock::now());
  });
  std::exception_ptr failure;
  try {
    pool_->Run();
  } catch (...) {
    failure = std::current_exception();
  }
  control.join();
  threads_.clear();  // Users, their sockets and timers, before the contexts.
  pool_.reset();
  result.totals = merger_->totals();
  result.dropped = merger_->total_dropped();
  result.cpu_seconds = CpuSeconds() - cpu_start;
  {
    std::lock_guard lock(errors_mutex_);
    result.sample_errors = sample_errors_;
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("engine failed: ", e.what()));
    }
  }
  return result;
}

Engine::Engine(v1::Scenario scenario, EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(scenario), std::move(options))) {}
Engine::~Engine() = default;
absl::Status Engine::Preflight() { return impl_->Preflight(); }
absl::StatusOr<RunResult> Engine::Run() { return impl_->Run(); }
void Engine::Stop() { impl_->Stop(); }
const std::vector<OpInfo>& Engine::ops() const { return impl_->ops(); }

}  // namespace tpslab::loadgen
