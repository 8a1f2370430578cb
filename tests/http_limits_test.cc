// Limits over real HTTP: body sizes, slow clients, rate limits, the
// bounded worker pool. After each abuse the server keeps serving.
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "http_fixture.h"

namespace tillit::testing {
namespace {

// A raw TCP connection to the server, for requests no well-behaved client
// would send.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    // A generous bound so a broken server fails the test instead of
    // hanging it.
    timeval tv{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(data.size());
  }
  // Everything until the server closes the connection (or the bound).
  std::string ReadUntilClosed() {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = n == 0;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // One response's head (up to the blank line).
  std::string ReadHead() {
    std::string out;
    char c;
    while (out.find("\r\n\r\n") == std::string::npos &&
           recv(fd_, &c, 1, 0) == 1) {
      out += c;
    }
    return out;
  }
  bool closed_by_server() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

// The kernel's cap on any listen backlog.
int ReadSomaxconn() {
  std::ifstream in("/proc/sys/net/core/somaxconn");
  int n = 0;
  in >> n;
  return n;
}

// The backlog of the IPv4 TCP socket listening on `port`, as the kernel
// reports it (sock_diag); -1 if there is none or the kernel will not say.
int ListenBacklog(int port) {
  const int fd =
      socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  struct {
    nlmsghdr head;
    inet_diag_req_v2 req;
  } msg{};
  msg.head.nlmsg_len = sizeof msg;
  msg.head.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.head.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req.sdiag_family = AF_INET;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1u << 10;  // TCP_LISTEN
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  int backlog = -1;
  if (sendto(fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof kernel) == static_cast<ssize_t>(sizeof msg)) {
    alignas(nlmsghdr) char buf[32768];
    for (bool done = false; !done;) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      const size_t len = static_cast<size_t>(n);
      for (size_t off = 0; off + sizeof(nlmsghdr) <= len;) {
        const auto* h = reinterpret_cast<const nlmsghdr*>(buf + off);
        if (h->nlmsg_len < sizeof(nlmsghdr) || off + h->nlmsg_len > len ||
            h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          break;
        }
        const auto* m = reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        // For a listening socket the kernel puts its maximum backlog in
        // the write-queue field.
        if (ntohs(m->id.idiag_sport) == port)
          backlog = static_cast<int>(m->idiag_wqueue);
        off += NLMSG_ALIGN(h->nlmsg_len);
      }
    }
  }
  close(fd);
  return backlog;
}

class LimitsTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.max_body_bytes = 1 << 20;
    o.max_json_bytes = 64 << 10;
    o.read_timeout_seconds = 1;
    o.keep_alive_seconds = 1;
    o.enroll_per_minute = 6;
    o.enroll_burst = 5;
  }
};

TEST_F(LimitsTest, DeclaredOversizedBodyIs413BeforeItIsSent) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  // Headers only: the server must answer without waiting for the body.
  ASSERT_TRUE(
      c.Send("POST /v1/admin/providers HTTP/1.1\r\nHost: t\r\n"
             "Authorization: Bearer " +
             admin_ +
             "\r\n"
             "Content-Type: application/json\r\n"
             "Content-Length: 10000000\r\n\r\n"));
  const std::string response = c.ReadUntilClosed();
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_NE(response.find("\"too_large\""), std::string::npos) << response;
  EXPECT_NE(response.find("request_id"), std::string::npos);
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(LimitsTest, OversizedJsonBodyIs413AndTheConnectionIsClosed) {
  // Over the JSON limit (64 KiB) on a JSON route, sent whole by a client
  // that does not wait: it still gets the 413 (or, if it was still
  // writing when the server closed, a broken connection), never a 2xx.
  std::string big = R"({"name": ")" + std::string(70 << 10, 'a') + R"("})";
  Reply json_route = Post("/v1/admin/providers", big, admin_);
  if (json_route.status != 0) {
    EXPECT_EQ(json_route.status, 413);
    EXPECT_EQ(json_route.ErrorCode(), "too_large");
  }
  EXPECT_TRUE(vault_->ListDirectory("provider")->empty());
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(LimitsTest, ExpectContinueGetsTheRefusalBeforeSendingTheBody) {
  Principal citizen = NewCitizen();
  struct Case {
    std::string path;
    std::string token;
    size_t length;
    std::string status;
  };
  const std::vector<Case> cases = {
      // Over the body limit (1 MiB) on the import route.
      {"/v1/me/import", citizen.token, (1 << 20) + 1, "413"},
      // Within it, but no token: refused before the upload.
      {"/v1/me/import", "", 1000, "401"},
      // Over the JSON limit on a JSON route.
      {"/v1/admin/providers", admin_, (64 << 10) + 1, "413"},
  };
  for (const Case& k : cases) {
    RawConnection c(server_->port());
    ASSERT_TRUE(c.connected());
    std::string head = "POST " + k.path + " HTTP/1.1\r\nHost: t\r\n";
    if (!k.token.empty()) head += "Authorization: Bearer " + k.token + "\r\n";
    head +=
        "Content-Type: application/json\r\nExpect: 100-continue\r\n"
        "Content-Length: " +
        std::to_string(k.length) + "\r\n\r\n";
    ASSERT_TRUE(c.Send(head));
    const std::string response = c.ReadHead();
    EXPECT_EQ(response.rfind("HTTP/1.1 " + k.status, 0), 0u)
        << k.path << ": " << response;
  }
  // A request that passes the checks gets 100 Continue.
  RawConnection ok(server_->port());
  ASSERT_TRUE(
      ok.Send("POST /v1/admin/providers HTTP/1.1\r\nHost: t\r\n"
              "Authorization: Bearer " +
              admin_ +
              "\r\n"
              "Content-Type: application/json\r\n"
              "Expect: 100-continue\r\nContent-Length: 14\r\n\r\n"));
  EXPECT_EQ(ok.ReadHead().rfind("HTTP/1.1 100", 0), 0u);
  ASSERT_TRUE(ok.Send(R"({"name": "x"})"
                      " "));
  EXPECT_EQ(ok.ReadHead().rfind("HTTP/1.1 201", 0), 0u);
}

TEST_F(LimitsTest, ChunkedBodyOverTheJsonLimitIs413) {
  // No Content-Length: the limit is applied to what was read.
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  std::string chunk(70 << 10, 'a');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  ASSERT_TRUE(
      c.Send("POST /v1/admin/providers HTTP/1.1\r\nHost: t\r\n"
             "Authorization: Bearer " +
             admin_ +
             "\r\n"
             "Transfer-Encoding: chunked\r\n\r\n" +
             std::string(size) + chunk + "\r\n0\r\n\r\n"));
  const std::string head = c.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 413", 0), 0u) << head;
  EXPECT_TRUE(vault_->ListDirectory("provider")->empty());
}

TEST_F(LimitsTest, SlowClientsAreTimedOut) {
  // Half a request line and headers, then silence: the worker must give
  // the connection up after the read timeout (1 s here).
  RawConnection headers(server_->port());
  ASSERT_TRUE(headers.connected());
  ASSERT_TRUE(headers.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: "));
  headers.ReadUntilClosed();
  EXPECT_TRUE(headers.closed_by_server());

  // Headers complete, body promised and never sent.
  RawConnection body(server_->port());
  ASSERT_TRUE(body.connected());
  ASSERT_TRUE(
      body.Send("POST /v1/admin/providers HTTP/1.1\r\nHost: t\r\n"
                "Authorization: Bearer " +
                admin_ +
                "\r\n"
                "Content-Length: 100\r\n\r\n{\"name\""));
  body.ReadUntilClosed();
  EXPECT_TRUE(body.closed_by_server());
  EXPECT_TRUE(vault_->ListDirectory("provider")->empty());
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(LimitsTest, EnrollmentGuessingIsRateLimitedPerAddress) {
  int limited = 0;
  int unauthorized = 0;
  std::string retry_after;
  for (int i = 0; i < 12; ++i) {
    Reply r =
        Post("/v1/enroll",
             json{{"enrollment_code", "tlk_" + std::to_string(i)}}.dump());
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(r.ErrorCode(), "rate_limited");
      retry_after = r.Header("Retry-After");
    } else {
      EXPECT_EQ(r.status, 401) << r.body;
      ++unauthorized;
    }
  }
  EXPECT_EQ(unauthorized, 5);  // the burst
  EXPECT_EQ(limited, 7);
  EXPECT_FALSE(retry_after.empty());
  // Other routes still answer.
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Post("/v1/admin/citizens", "{}", admin_).status, 201);
}

// Enrollment from one address, with a bucket that does not refill during
// a test (one attempt per 1000 s): every count below is exact.
class EnrollmentLimitTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.enroll_per_minute = 0.06;
    o.enroll_burst = 3;
  }
  // A new citizen's one-time enrollment code, from the operator.
  std::string NewCode() {
    Reply c = Post("/v1/admin/citizens", "{}", admin_);
    EXPECT_EQ(c.status, 201) << c.body;
    return c.Json().value("enrollment_code", std::string());
  }
  Reply Enroll(const std::string& code) {
    return Post("/v1/enroll", json{{"enrollment_code", code}}.dump());
  }
  // An unknown code of the right shape.
  static std::string Guess(int i) {
    std::string hex = std::to_string(i);
    return "tlk_" + std::string(64 - hex.size(), '0') + hex;
  }
  static void ExpectLimited(const Reply& r) {
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.ErrorCode(), "rate_limited");
    EXPECT_FALSE(r.Header("Retry-After").empty());
  }
};

TEST_F(EnrollmentLimitTest, SuccessfulEnrollmentsFromOneAddressNeverCount) {
  // Four times the burst, and more than the old limit that counted every
  // attempt: a clinic enrolling its citizens one after another.
  for (int i = 0; i < 12; ++i) {
    Reply r = Enroll(NewCode());
    EXPECT_EQ(r.status, 200) << "enrollment " << i << ": " << r.body;
  }
  // The failures' whole burst is left, and guessing still ends in 429.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Enroll(Guess(i)).status, 401);
  ExpectLimited(Enroll(Guess(3)));
}

TEST_F(EnrollmentLimitTest, ConcurrentEnrollmentsBeyondTheBurstAreAccepted) {
  // Admission takes nothing, so successes in flight together never
  // crowd each other out.
  std::vector<std::string> codes;
  for (int i = 0; i < 16; ++i) codes.push_back(NewCode());
  std::vector<int> statuses(codes.size());
  std::vector<std::thread> clients;
  for (size_t t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (size_t i = t; i < codes.size(); i += 4)
        statuses[i] = Enroll(codes[i]).status;
    });
  }
  for (std::thread& c : clients) c.join();
  for (size_t i = 0; i < codes.size(); ++i)
    EXPECT_EQ(statuses[i], 200) << "enrollment " << i;
}

TEST_F(EnrollmentLimitTest, EveryKindOfFailedAttemptCounts) {
  const std::string code = NewCode();
  ASSERT_EQ(Enroll(code).status, 200);
  EXPECT_EQ(Enroll(code).status, 401);                            // used
  EXPECT_EQ(Enroll(Guess(1)).status, 401);                        // unknown
  EXPECT_EQ(Post("/v1/enroll", R"({"code": "x"})").status, 400);  // bad body
  // The address is refused now, even with a valid code, which the refusal
  // leaves unspent.
  const std::string fresh = NewCode();
  ExpectLimited(Enroll(fresh));
  EXPECT_TRUE(vault_->RedeemToken(fresh, "enroll").ok());
}

TEST_F(EnrollmentLimitTest, SuccessesNeitherPushAGuesserOverNorResetThem) {
  EXPECT_EQ(Enroll(Guess(1)).status, 401);
  EXPECT_EQ(Enroll(Guess(2)).status, 401);
  // Successes in between: none is refused (they do not count)...
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Enroll(NewCode()).status, 200);
  // ...and the guesser has exactly one attempt left (they reset nothing).
  EXPECT_EQ(Enroll(Guess(3)).status, 401);
  ExpectLimited(Enroll(Guess(4)));
  // What is limited is the address: its valid codes wait too.
  ExpectLimited(Enroll(NewCode()));
  // Other routes still answer.
  EXPECT_EQ(Get("/healthz").status, 200);
}

class PrincipalRateTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.rate_per_second = 0.001;  // effectively no refill during the test
    o.rate_burst = 3;
  }
};

TEST_F(PrincipalRateTest, EachPrincipalHasItsOwnBucket) {
  // The admin spends 2 creating principals below, then 1 more.
  Principal auditor = NewAuditor();
  Principal other = NewAuditor();
  EXPECT_EQ(Post("/v1/admin/citizens", "{}", admin_).status, 201);
  Reply limited = Post("/v1/admin/citizens", "{}", admin_);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.ErrorCode(), "rate_limited");
  EXPECT_FALSE(limited.Header("Retry-After").empty());
  // Other principals are not affected.
  EXPECT_EQ(Get("/v1/audit/checkpoint", auditor.token).status, 200);
  EXPECT_EQ(Get("/v1/audit/checkpoint", other.token).status, 200);
}

class BusyTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.threads = 1;
    o.max_queued = 0;
    o.read_timeout_seconds = 5;
  }
};

TEST_F(BusyTest, ConnectionsBeyondTheQueueGet503AndServiceResumes) {
  RawConnection holder(server_->port());  // occupies the only worker
  ASSERT_TRUE(holder.connected());
  ASSERT_TRUE(holder.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(holder.ReadHead().rfind("HTTP/1.1 200", 0), 0u);
  // The worker now waits on the holder's keep-alive connection.
  Reply busy = Get("/healthz");
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.ErrorCode(), "unavailable");
  holder.Close();
  // The worker notices the closed connection and serves again.
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = Get("/healthz").status;
    if (status != 200) usleep(50 * 1000);
  }
  EXPECT_EQ(status, 200);
}

// cpp-httplib, a shared library, listens with a backlog of 5; more
// clients connecting at once had their handshakes dropped and retried a
// second later. The server sets its own.
TEST_F(LimitsTest, ListensWithTheConfiguredBacklog) {
  EXPECT_EQ(ListenBacklog(server_->port()), std::min(1024, ReadSomaxconn()));
  StopServer();
  api::ServerOptions o;
  o.port = 0;
  o.listen_backlog = 77;
  auto server = api::Server::Create(vault_.get(), o);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE((*server)->Start().ok());
  EXPECT_EQ(ListenBacklog((*server)->port()), 77);
  (*server)->Stop();
}

class OptionsTest : public HttpTest {};

TEST_F(OptionsTest, OutOfRangeOptionsAreRefusedBeforeListening) {
  auto refused = [&](void (*change)(api::ServerOptions&)) {
    api::ServerOptions o;
    o.port = 0;
    change(o);
    auto server = api::Server::Create(vault_.get(), o);
    return !server.ok() &&
           server.status().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused([](api::ServerOptions& o) { o.threads = 0; }));
  EXPECT_TRUE(refused([](api::ServerOptions& o) { o.threads = 5000; }));
  EXPECT_TRUE(refused([](api::ServerOptions& o) { o.listen_backlog = 0; }));
  EXPECT_TRUE(refused([](api::ServerOptions& o) { o.listen_backlog = 70000; }));
  EXPECT_TRUE(refused([](api::ServerOptions& o) { o.tls_cert = "c.pem"; }));
  EXPECT_TRUE(refused([](api::ServerOptions& o) { o.tls_key = "k.pem"; }));
}

}  // namespace
}  // namespace tillit::testing
