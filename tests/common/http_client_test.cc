#include "gralarm/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/http_get_server.h"

namespace gralarm {
namespace {

using testing::GetReply;
using testing::GetServer;
using ::testing::HasSubstr;
using ::testing::Not;

// A free loopback port nothing listens on (bound, then closed).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

TEST(HttpGet, AnswersStatusContentTypeAndBodyAndSendsTheHeaders) {
  GetServer server([](const std::string& target) {
    return GetReply{target == "/a?b=c" ? 200 : 404, "text/plain",
                    StrCat("you asked ", target)};
  });
  HttpClientRequest req;
  req.url = server.url() + "/a?b=c";
  req.headers = {{"Authorization", "Bearer s3cret"}, {"X-Extra", "1"}};
  auto r = HttpGet(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/plain");
  EXPECT_EQ(r->body, "you asked /a?b=c");
  const auto heads = server.Heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_THAT(heads[0], HasSubstr("GET /a?b=c HTTP/1.1\r\n"));
  EXPECT_THAT(heads[0], HasSubstr("\r\nAuthorization: Bearer s3cret"));
  EXPECT_THAT(heads[0], HasSubstr("\r\nX-Extra: 1"));

  // Any status is an answer, for the caller to judge.
  req.url = server.url() + "/missing";
  r = HttpGet(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
}

TEST(HttpGet, NoServerIsUnavailableNamingTheUrlButNoHeaderValue) {
  HttpClientRequest req;
  req.url = StrCat("http://user:pw@127.0.0.1:", ClosedPort(), "/x");
  req.headers = {{"Authorization", "Bearer s3cret"}};
  auto r = HttpGet(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("GET http://127.0.0.1:"));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("s3cret")));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("pw")));
}

TEST(HttpGet, ASlowServerIsDeadlineExceeded) {
  GetServer server([](const std::string&) {
    GetReply r;
    r.body = "[]";
    r.delay_ms = 3000;
    return r;
  });
  HttpClientRequest req;
  req.url = server.url() + "/slow";
  req.timeout_ms = 200;
  const auto start = std::chrono::steady_clock::now();
  auto r = HttpGet(req);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("within 200 ms"));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST(HttpGet, ABodyPastTheCapIsAnErrorNotATruncatedBody) {
  const std::string big(10000, 'x');
  GetServer server([&](const std::string& target) {
    GetReply r;
    r.body = big;
    // Without a Content-Length the cap is met while reading.
    if (target == "/unannounced") r.content_length = -2;
    return r;
  });
  HttpClientRequest req;
  req.url = server.url() + "/big";
  req.max_body_bytes = 9999;
  auto r = HttpGet(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("larger than 9999 bytes"));
  req.url = server.url() + "/unannounced";
  r = HttpGet(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  req.max_body_bytes = 10000;  // exactly the cap is fine
  for (const char* path : {"/big", "/unannounced"}) {
    req.url = server.url() + path;
    r = HttpGet(req);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status();
    EXPECT_EQ(r->body, big);
  }
}

TEST(HttpGet, ARedirectIsAnAnswerNotFollowed) {
  GetServer elsewhere([](const std::string&) {
    return GetReply{200, "text/plain", "here"};
  });
  GetServer server([&](const std::string&) {
    GetReply r{302, "text/plain", "moved"};
    r.extra_headers = StrCat("Location: ", elsewhere.url(), "/stolen\r\n");
    return r;
  });
  HttpClientRequest req;
  req.url = server.url() + "/a";
  req.headers = {{"Authorization", "Bearer s3cret"}};
  auto r = HttpGet(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 302);
  EXPECT_TRUE(elsewhere.Heads().empty());
}

TEST(HttpGet, OnlyHttpAndHttpsUrls) {
  HttpClientRequest req;
  req.url = "file:///etc/passwd";
  EXPECT_EQ(HttpGet(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.url = "ftp://127.0.0.1/";
  EXPECT_EQ(HttpGet(req).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpClientHelpers, RedactUrlDropsUserInformationOnly) {
  EXPECT_EQ(RedactUrl("http://u:p@h:1/x?y=z"), "http://h:1/x?y=z");
  EXPECT_EQ(RedactUrl("https://tok@h/"), "https://h/");
  EXPECT_EQ(RedactUrl("http://h/a@b"), "http://h/a@b");  // '@' in the path
  EXPECT_EQ(RedactUrl("http://h:8080"), "http://h:8080");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

TEST(HttpClientHelpers, UrlEncodeKeepsUnreservedCharactersOnly) {
  EXPECT_EQ(UrlEncode("a.b-c_d~e"), "a.b-c_d~e");
  EXPECT_EQ(UrlEncode("sum(a.*.b, 2) & x=y/#?"),
            "sum%28a.%2A.b%2C%202%29%20%26%20x%3Dy%2F%23%3F");
  EXPECT_EQ(UrlEncode("{a,b}\xc3\xa9"), "%7Ba%2Cb%7D%C3%A9");
}

TEST(HttpClientHelpers, FirstLineIsPrintableAndBounded) {
  EXPECT_EQ(FirstLine("\n\n  Bad target\nTraceback..."), "Bad target");
  EXPECT_EQ(FirstLine("a\tb\x01"), "a b");
  EXPECT_EQ(FirstLine(std::string(300, 'x'), 10), "xxxxxxxxxx...");
  EXPECT_EQ(FirstLine(""), "");
}

}  // namespace
}  // namespace gralarm
