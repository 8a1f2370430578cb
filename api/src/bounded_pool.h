// BoundedPool: cpp-httplib's task queue with a fixed set of workers and a
// bounded queue of connections waiting for one. Connections beyond it go
// to a single extra thread, on which OnShedThread() is true, and the
// server answers every request on them with 503.
//
// Thread-safety: enqueue may be called from any thread; shutdown once,
// from the thread that owns the pool.
#ifndef TILLIT_API_SRC_BOUNDED_POOL_H_
#define TILLIT_API_SRC_BOUNDED_POOL_H_

#include <httplib.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "tillit/base/mutex.h"

namespace tillit::api::internal {

class BoundedPool final : public httplib::TaskQueue {
 public:
  // `threads` workers; at most `max_queued` connections wait beyond the
  // idle workers.
  BoundedPool(size_t threads, size_t max_queued);

  void enqueue(std::function<void()> fn) override;
  // Lets queued connections finish, then joins every thread.
  void shutdown() override;

  // True on the thread that takes the connections beyond the queue.
  static bool OnShedThread();

 private:
  using Queue = std::deque<std::function<void()>>;
  // Runs connections from queue_ (or, when `shedding`, from shed_) until
  // shutdown leaves it empty.
  void Work(bool shedding);
  // cv_.Wait(). REQUIRES(mu_) is checked at the callers; the body is not
  // analysed because clang cannot tell that cv_ is bound to mu_.
  void WaitLocked() REQUIRES(mu_) NO_THREAD_SAFETY_ANALYSIS { cv_.Wait(); }

  const size_t max_queued_;
  Mutex mu_;
  CondVar cv_{&mu_};
  Queue queue_ GUARDED_BY(mu_);
  Queue shed_ GUARDED_BY(mu_);
  // Workers not running a connection. A worker counts as idle from the
  // start, before its thread first waits: otherwise the first connections
  // after listening could be shed while the workers are still starting.
  size_t idle_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::thread shedder_;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_BOUNDED_POOL_H_
