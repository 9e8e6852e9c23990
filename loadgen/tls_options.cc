#include "loadgen/tls_options.h"

namespace tpslab::loadgen {

TlsOptions TargetTlsOptions(const v1::Target& target) {
  const v1::TlsOptions& tls = target.tls();
  return TlsOptions{
      .verify = !tls.insecure(), .ca_file = tls.ca_file(), .server_name = tls.server_name()};
}

}  // namespace tpslab::loadgen
