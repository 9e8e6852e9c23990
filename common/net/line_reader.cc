#include "common/net/line_reader.h"

#include <boost/asio/error.hpp>
#include <cassert>
#include <cstring>

namespace tpslab::net {

LineReader::LineReader(std::size_t max_line)
    : capacity_(max_line), buffer_(std::make_unique_for_overwrite<char[]>(max_line)) {
  assert(max_line >= 1);
}

void LineReader::Consume(std::size_t n) {
  assert(n <= buffered().size());
  release_ += n;
}

void LineReader::ReleaseReturned() {
  line_ = {};
  begin_ += release_;
  release_ = 0;
  scanned_ = 0;
  if (begin_ == end_) begin_ = end_ = 0;  // Empty: restart at the front, no copy needed.
}

LineReader::Parse LineReader::ParseBuffered() {
  char* const data = buffer_.get();
  if (resyncing_) {
    const void* lf = std::memchr(data + begin_, '\n', end_ - begin_);
    if (lf == nullptr) {
      begin_ = end_ = scanned_ = 0;  // Still inside the over-long line.
      return Parse::kNeedMore;
    }
    begin_ = static_cast<const char*>(lf) - data + 1;
    scanned_ = 0;
    resyncing_ = false;
  }
  const std::size_t size = end_ - begin_;
  const void* lf = std::memchr(data + begin_ + scanned_, '\n', size - scanned_);
  if (lf != nullptr) {
    const std::size_t with_lf = static_cast<const char*>(lf) - (data + begin_) + 1;
    std::size_t length = with_lf - 1;
    if (length > 0 && data[begin_ + length - 1] == '\r') --length;
    line_ = std::string_view(data + begin_, length);
    release_ = with_lf;
    return Parse::kLine;
  }
  if (size == capacity_) {
    // The buffer is full of one line: drop it and skip the rest later.
    begin_ = end_ = scanned_ = 0;
    resyncing_ = true;
    return Parse::kTooLong;
  }
  scanned_ = size;
  return Parse::kNeedMore;
}

boost::asio::mutable_buffer LineReader::PrepareRead() {
  char* const data = buffer_.get();
  if (begin_ > 0) {
    // Only the start of one line remains (less than a line), so this copy is
    // short and happens at most once per line.
    std::memmove(data, data + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return boost::asio::mutable_buffer(data + end_, capacity_ - end_);
}

void LineReader::CommitRead(std::size_t n) {
  assert(end_ + n <= capacity_);
  end_ += n;
  bytes_read_ += n;
}

LineResult LineReader::ReadFailed(const boost::system::error_code& ec) {
  if (ec == boost::asio::error::eof && !resyncing_ && end_ > begin_) {
    // The partial line is handed out and dropped on the next call.
    release_ = end_ - begin_;
    return LineResult{make_error_code(Error::partial_line),
                      std::string_view(buffer_.get() + begin_, end_ - begin_)};
  }
  return LineResult{ec, {}};
}

}  // namespace tpslab::net
