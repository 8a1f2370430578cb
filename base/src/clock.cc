#include "tillit/base/clock.h"

#include "tillit/base/env.h"

namespace tillit {

EnvClock::EnvClock(Env* env) : env_(env) {}

int64_t EnvClock::NowSeconds() const { return env_->NowSeconds(); }

Clock& Clock::System() {
  static EnvClock* clock = new EnvClock(Env::Default());
  return *clock;
}

}  // namespace tillit
