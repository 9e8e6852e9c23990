// TlsOptions: how loadgen checks the server of an ftps:// or https:// target,
// as the TLS client code (tls_client.h) takes them. A scenario carries them in
// tpslab.v1.Target.tls (the YAML `tls:` block, or --insecure), so a scenario
// sent to an agent keeps them; TargetTlsOptions() reads them from there.
//
// Usage:
//   v1::Target target;
//   target.set_url("ftps://u:p@127.0.0.1:2121/");
//   target.mutable_tls()->set_ca_file("ca.pem");
//   target.mutable_tls()->set_server_name("ftp.test");
//   TlsOptions tls = TargetTlsOptions(target);
//   // tls == TlsOptions{.verify = true, .ca_file = "ca.pem", .server_name = "ftp.test"}
#ifndef TPSLAB_LOADGEN_TLS_OPTIONS_H_
#define TPSLAB_LOADGEN_TLS_OPTIONS_H_

#include <string>

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

// Returns the TLS options of `target`, from Target.tls: verify unless
// tls.insecure, and tls.ca_file and tls.server_name as they are. A target
// without `tls` gets the defaults above. Meaningful for ftps:// and https://
// targets only (ValidateScenario rejects `tls` on other targets).
TlsOptions TargetTlsOptions(const v1::Target& target);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_TLS_OPTIONS_H_
