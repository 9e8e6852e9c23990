// The wall-clock time as a google.protobuf.Timestamp with nanoseconds, for
// stamping samples when they are read.
//
//   *sample.mutable_time() = NowTimestamp();
#ifndef TPSLAB_MONITOR_TIMESTAMP_H_
#define TPSLAB_MONITOR_TIMESTAMP_H_

#include <time.h>

#include "google/protobuf/timestamp.pb.h"

namespace tpslab::monitor {

// CLOCK_REALTIME now, to the nanosecond.
inline google::protobuf::Timestamp NowTimestamp() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(now.tv_sec);
  timestamp.set_nanos(static_cast<int32_t>(now.tv_nsec));
  return timestamp;
}

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_TIMESTAMP_H_
