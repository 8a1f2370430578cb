#include "bounded_pool.h"

#include <utility>

namespace tillit::api::internal {
namespace {

// Set on the thread that answers connections beyond the queue limit.
thread_local bool t_shedding = false;

}  // namespace

BoundedPool::BoundedPool(size_t threads, size_t max_queued)
    : max_queued_(max_queued), idle_(threads) {
  for (size_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this] { Work(false); });
  }
  shedder_ = std::thread([this] { Work(true); });
}

void BoundedPool::enqueue(std::function<void()> fn) {
  {
    MutexLock lock(&mu_);
    // Idle workers take queued connections at once; beyond them, at most
    // max_queued wait.
    if (queue_.size() < max_queued_ + idle_) {
      queue_.push_back(std::move(fn));
    } else {
      shed_.push_back(std::move(fn));
    }
  }
  cv_.SignalAll();
}

void BoundedPool::shutdown() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (auto& t : workers_) t.join();
  shedder_.join();
}

bool BoundedPool::OnShedThread() { return t_shedding; }

void BoundedPool::Work(bool shedding) {
  t_shedding = shedding;
  for (;;) {
    std::function<void()> fn;
    {
      MutexLock lock(&mu_);
      Queue& q = shedding ? shed_ : queue_;
      while (!stopping_ && q.empty()) WaitLocked();
      if (q.empty()) return;  // stopping, and nothing left to finish
      fn = std::move(q.front());
      q.pop_front();
      if (!shedding) --idle_;
    }
    fn();
    if (!shedding) {
      MutexLock lock(&mu_);
      ++idle_;
    }
  }
}

}  // namespace tillit::api::internal
