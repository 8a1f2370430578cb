// Clock: the injected source of time (seconds since the Unix epoch, UTC).
//
// Production code uses Clock::System() (the default Env's clock) or an
// EnvClock over an injected Env; tests use FakeClock to freeze or step
// time. Thread-safety: all are safe from any thread.
#ifndef TILLIT_BASE_CLOCK_H_
#define TILLIT_BASE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace tillit {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowSeconds() const = 0;
  // The clock of Env::Default().
  static Clock& System();
};

class Env;

// The clock of an Env. REQUIRES: `env` outlives it.
class EnvClock final : public Clock {
 public:
  explicit EnvClock(Env* env);
  int64_t NowSeconds() const override;

 private:
  Env* const env_;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override { return now_.load(); }
  void Set(int64_t now) { now_.store(now); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace tillit

#endif  // TILLIT_BASE_CLOCK_H_
