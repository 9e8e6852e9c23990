#include "common/net/error.h"

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>

#include "gtest/gtest.h"

namespace tpslab::net {
namespace {

TEST(ErrorTest, ConvertsToErrorCodeOfItsCategory) {
  boost::system::error_code ec = Error::line_too_long;
  EXPECT_TRUE(ec.failed());
  EXPECT_EQ(&ec.category(), &ErrorCategory());
  EXPECT_STREQ(ec.category().name(), "tpslab.net");
  EXPECT_EQ(ec, Error::line_too_long);
  EXPECT_NE(ec, Error::timed_out);
}

TEST(ErrorTest, EveryValueHasItsOwnMessage) {
  EXPECT_EQ(make_error_code(Error::line_too_long).message(), "line too long");
  EXPECT_EQ(make_error_code(Error::partial_line).message(),
            "connection closed in the middle of a line");
  EXPECT_EQ(make_error_code(Error::timed_out).message(), "operation timed out");
  EXPECT_EQ(ErrorCategory().message(99), "unknown tpslab.net error 99");
}

TEST(ErrorTest, TimedOutMatchesThePortableCondition) {
  boost::system::error_code ec = Error::timed_out;
  EXPECT_EQ(ec, boost::system::errc::timed_out);
  EXPECT_NE(make_error_code(Error::line_too_long), boost::system::errc::timed_out);
}

TEST(ErrorTest, DoesNotCompareEqualToAsioErrorsWithTheSameValue) {
  boost::system::error_code ec = Error::partial_line;
  EXPECT_NE(ec, boost::asio::error::eof);
  EXPECT_NE(ec, boost::system::error_code(static_cast<int>(Error::partial_line),
                                          boost::system::generic_category()));
}

}  // namespace
}  // namespace tpslab::net
