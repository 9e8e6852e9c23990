// TlsOptions: how loadgen checks the server of an ftps:// or https:// target,
// and how those options travel inside a tpslab.v1.Target. The Target message
// has `verify_tls` but no field for a CA file or a server name, so those two
// ride in the target URL's fragment ("#tls-ca=FILE&tls-server-name=NAME",
// percent-encoded), which no client ever sends to a server. The scenario
// parser writes the fragment from a target's `tls:` block; the engine reads
// it back, so a scenario sent to an agent keeps its TLS options.
//
// Usage:
//   TlsOptions tls{.verify = true, .ca_file = "ca.pem", .server_name = "ftp.test"};
//   target.set_verify_tls(tls.verify);
//   target.set_url("ftps://u:p@127.0.0.1:2121/#" + EncodeTlsFragment(tls));
//   absl::StatusOr<TlsOptions> back = TargetTlsOptions(target);   // == tls
#ifndef TPSLAB_LOADGEN_TLS_OPTIONS_H_
#define TPSLAB_LOADGEN_TLS_OPTIONS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/proto/scenario.pb.h"

namespace tpslab::loadgen {

struct TlsOptions {
  // Verify the server's certificate chain and its name. Default true (the
  // scenario's `tls: {verify: false}` or the command line's --insecure turn
  // it off).
  bool verify = true;
  // PEM file with the CA certificates to trust. Default empty: the system's
  // trust store.
  std::string ca_file;
  // Name sent as SNI and checked against the certificate. Default empty:
  // the target URL's host (an IP address is checked as an IP address and
  // sends no SNI, as RFC 6066 says).
  std::string server_name;

  friend bool operator==(const TlsOptions&, const TlsOptions&) = default;
};

// Returns the URL fragment carrying `options.ca_file` and
// `options.server_name` ("" when both are empty). `verify` travels in
// Target.verify_tls instead.
std::string EncodeTlsFragment(const TlsOptions& options);

// Reads the options of `target`: verify from verify_tls, the rest from the
// URL's fragment. Fails with InvalidArgument naming the target when the URL
// does not parse or its fragment has a key other than tls-ca and
// tls-server-name.
absl::StatusOr<TlsOptions> TargetTlsOptions(const v1::Target& target);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_TLS_OPTIONS_H_
