#include "common/net/deadline.h"

namespace tpslab::net {

Deadline::Deadline(const boost::asio::any_io_executor& executor, void* target,
                   CancelFunction cancel)
    : state_(std::make_shared<State>(executor, target, cancel)) {}

Deadline::~Deadline() {
  state_->target = nullptr;
  if (state_->pending_waits > 0) {
    // Wakes the pending wait now, so the state is freed without waiting for
    // the expiry; its handler sees the null target and returns.
    state_->timer.cancel();
  }
}

void Deadline::ExpiresAt(Clock::time_point expiry) {
  State& state = *state_;
  state.expiry = expiry;
  state.expired = false;
  if (expiry == Clock::time_point::max()) {
    // Wake the pending wait now: its handler finds no expiry and stops, and
    // an io_context with nothing else to do can return from run().
    if (state.pending_waits > 0) state.timer.cancel();
    return;
  }
  // The cheap, common case: a wait is pending and ends before the new expiry;
  // its handler will sleep again until the stored expiry.
  if (state.pending_waits > 0 && state.armed_until <= expiry) return;
  Arm(state_, expiry);
}

void Deadline::Arm(const std::shared_ptr<State>& state, Clock::time_point at) {
  state->timer.expires_at(at);  // Aborts the pending wait, if any.
  state->armed_until = at;
  ++state->pending_waits;
  state->timer.async_wait([state](const boost::system::error_code&) { OnTimer(state); });
}

void Deadline::OnTimer(const std::shared_ptr<State>& state) {
  // The error code is not consulted: whether the wait completed or was
  // aborted, the decision rests on the stored expiry and the clock.
  --state->pending_waits;
  if (state->target == nullptr) return;                   // The Deadline is gone.
  if (state->pending_waits > 0) return;                   // Superseded by an earlier re-arm.
  if (state->expiry == Clock::time_point::max()) return;  // Disarmed.
  if (state->expiry <= Clock::now()) {
    if (!state->expired) {
      state->expired = true;
      state->cancel(state->target);
    }
    return;
  }
  Arm(state, state->expiry);  // The expiry was extended: sleep until then.
}

}  // namespace tpslab::net
