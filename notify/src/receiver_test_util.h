// A loopback HTTP receiver for tests of notifications: a stand-in push
// service or webhook receiver that records every POST and answers with
// the statuses it is given. Test-only (notify's and tests/'s).
#ifndef TILLIT_NOTIFY_SRC_RECEIVER_TEST_UTIL_H_
#define TILLIT_NOTIFY_SRC_RECEIVER_TEST_UTIL_H_

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tillit::notify::testing_util {

// A loopback HTTP receiver that records every request and answers with
// the statuses queued (200 once they run out); `hold` makes it wait.
class Receiver {
 public:
  struct Request {
    std::string path;
    httplib::Headers headers;
    std::string body;
    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    }
  };
  Receiver() {
    server_.Post(".*",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::unique_lock<std::mutex> lock(mu_);
                   ++arrivals_;
                   cv_.notify_all();
                   cv_.wait(lock, [&] { return !hold_; });
                   requests_.push_back({req.path, req.headers, req.body});
                   int status = 201;
                   if (!statuses_.empty()) {
                     status = statuses_.front();
                     statuses_.erase(statuses_.begin());
                   }
                   res.status = status;
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~Receiver() {
    Release();
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void Answer(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_ = std::move(statuses);
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Waits (at most 20 s) until `n` requests have reached the handler.
  bool WaitArrivals(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20),
                        [&] { return arrivals_ >= n; });
  }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  size_t arrivals_ = 0;
  std::vector<int> statuses_;
  std::vector<Request> requests_;
};

}  // namespace tillit::notify::testing_util

#endif  // TILLIT_NOTIFY_SRC_RECEIVER_TEST_UTIL_H_
