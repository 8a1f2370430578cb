// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with
// the capability annotations that let clang check lock rules at compile
// time (GUARDED_BY, REQUIRES; see thread_annotations.h). As leveldb's
// port::Mutex.
//
// Thread-safety: a Mutex and a CondVar are, by design, used from many
// threads; a MutexLock belongs to the thread that made it.
#ifndef TILLIT_BASE_MUTEX_H_
#define TILLIT_BASE_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "tillit/base/thread_annotations.h"

namespace tillit {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis that the caller holds the lock (no run-time check).
  void AssertHeld() ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable bound to one Mutex. The caller of Wait() and
// WaitUntil() must hold that mutex; they release it while blocked and hold
// it again on return. (Like leveldb's port::CondVar these carry no
// annotation: clang cannot tie the CondVar's pointer to the caller's mutex,
// so the caller's own REQUIRES/GUARDED_BY rules do the checking.)
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait() {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Returns false when `deadline` passed before a signal.
  template <typename Clock, typename Duration>
  bool WaitUntil(std::chrono::time_point<Clock, Duration> deadline) {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    const bool signalled =
        cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  Mutex* const mu_;
  std::condition_variable cv_;
};

}  // namespace tillit

#endif  // TILLIT_BASE_MUTEX_H_
