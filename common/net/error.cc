#include "common/net/error.h"

#include <string>

namespace tpslab::net {
namespace {

// boost::system::error_category has a protected, non-virtual destructor by
// design (categories are singletons never deleted through a base pointer),
// which -Wnon-virtual-dtor reports anyway.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class NetErrorCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tpslab.net"; }

  std::string message(int value) const override {
    switch (static_cast<Error>(value)) {
      case Error::line_too_long:
        return "line too long";
      case Error::partial_line:
        return "connection closed in the middle of a line";
      case Error::timed_out:
        return "operation timed out";
    }
    return "unknown tpslab.net error " + std::to_string(value);
  }

  boost::system::error_condition default_error_condition(int value) const noexcept override {
    if (static_cast<Error>(value) == Error::timed_out) {
      return boost::system::errc::make_error_condition(boost::system::errc::timed_out);
    }
    return boost::system::error_condition(value, *this);
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& ErrorCategory() noexcept {
  static const NetErrorCategory category;
  return category;
}

boost::system::error_code make_error_code(Error e) noexcept {
  return boost::system::error_code(static_cast<int>(e), ErrorCategory());
}

}  // namespace tpslab::net
