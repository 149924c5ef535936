#include "gralarm/graphite_web.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/graph.h"
#include "testing/http_get_server.h"

namespace gralarm {
namespace {

using testing::GetReply;
using testing::GetServer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// What graphite-web 1.1 answers /metrics/find?query=servers.* with
// (format=treejson).
constexpr char kFindAnswer[] =
    R"([{"allowChildren": 1, "expandable": 1, "leaf": 0, "id": "servers.web1",
         "text": "web1"},
        {"allowChildren": 0, "expandable": 0, "leaf": 1, "id": "servers.load",
         "text": "load"}])";

// Its /render?format=json answer (NaN and Infinity as graphite-web writes
// them).
constexpr char kRenderAnswer[] =
    R"([{"target": "servers.load", "tags": {"name": "servers.load"},
         "datapoints": [[1.5, 1767225600], [null, 1767225660],
                        [1e9999, 1767225720]]}])";

// A graphite-web stand-in: the last request target is kept.
class FakeGraphite {
 public:
  FakeGraphite()
      : server_([this](const std::string& target) {
          absl::MutexLock lock(&mu_);
          last_ = target;
          return reply_;
        }) {}
  void Answer(GetReply r) {
    absl::MutexLock lock(&mu_);
    reply_ = std::move(r);
  }
  std::string last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }
  std::string url() const { return server_.url(); }

 private:
  absl::Mutex mu_;
  GetReply reply_ ABSL_GUARDED_BY(mu_);
  std::string last_ ABSL_GUARDED_BY(mu_);
  GetServer server_;
};

TEST(GraphiteWeb, FindReadsTreejsonNodes) {
  FakeGraphite g;
  g.Answer({200, "application/json", kFindAnswer});
  GraphiteWebClient client(g.url() + "/", 2000);  // trailing '/' dropped
  auto nodes = client.Find("servers.{web1,load}");
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(g.last(),
            "/metrics/find?format=treejson&query=servers.%7Bweb1%2Cload%7D");
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].id, "servers.web1");
  EXPECT_EQ((*nodes)[0].text, "web1");
  EXPECT_FALSE((*nodes)[0].leaf);
  EXPECT_TRUE((*nodes)[0].expandable);
  EXPECT_EQ((*nodes)[1].id, "servers.load");
  EXPECT_TRUE((*nodes)[1].leaf);
  EXPECT_FALSE((*nodes)[1].expandable);

  g.Answer({200, "application/json", "[]"});
  nodes = client.Find("nothing.*");
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_TRUE(nodes->empty());
}

TEST(GraphiteWeb, RenderPassesGraphitesJsonThrough) {
  FakeGraphite g;
  g.Answer({200, "application/json", kRenderAnswer});
  GraphiteWebClient client(g.url(), 2000);
  auto body = client.Render("sumSeries(servers.*.load)", "-6h", "now");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, kRenderAnswer);
  EXPECT_EQ(g.last(),
            "/render?format=json&target=sumSeries%28servers.%2A.load%29"
            "&from=-6h&until=now");
  // Bad times are refused before anything is sent.
  EXPECT_EQ(client.Render("a", "yesterday&x=1", "now").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Render("a", "-6h", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GraphiteWeb, ErrorsSayWhatWentWrong) {
  FakeGraphite g;
  GraphiteWebClient client(g.url(), 2000);
  // graphite-web's own error text, first line.
  g.Answer({400, "text/plain",
            "Invalid function \"nope\"\nTraceback (most recent call last):"});
  auto r = client.Render("nope(a)", "-1h", "now");
  ASSERT_FALSE(r.ok());
  // 400: graphite-web refuses the target.
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      r.status().message(),
      "graphite-web /render answered HTTP 400: Invalid function \"nope\"");
  g.Answer({500, "text/html", "<h1>Server Error (500)</h1>"});
  auto f = client.Find("a.*");
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.status().message(),
            "graphite-web /metrics/find answered HTTP 500: "
            "<h1>Server Error (500)</h1>");
  // Malformed answers.
  g.Answer({200, "text/html", "<html>login</html>"});
  EXPECT_EQ(client.Render("a", "-1h", "now").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(client.Find("a").status().message()),
              HasSubstr("answer is not JSON"));
  g.Answer({200, "application/json", R"({"target": "a"})"});
  EXPECT_THAT(std::string(client.Render("a", "-1h", "now").status().message()),
              HasSubstr("not a JSON list of series"));
  // Not answering at all.
  GraphiteWebClient down("http://127.0.0.1:1", 2000);
  auto d = down.Render("a", "-1h", "now");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(d.status().message()),
              StartsWith("graphite-web is unreachable"));
  g.Answer({200, "application/json", "[]", 3000});
  GraphiteWebClient impatient(g.url(), 100);
  EXPECT_EQ(impatient.Find("a").status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(GraphiteWeb, ParseFindAnswerChecksEveryNode) {
  auto ok = ParseFindAnswer(
      R"([{"id": "a.b", "text": "b", "leaf": true, "expandable": false},
          {"id": "a.c", "text": "c", "leaf": 0}])");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE((*ok)[0].leaf);
  EXPECT_FALSE((*ok)[1].leaf);
  EXPECT_TRUE((*ok)[1].expandable);  // absent: a non-leaf is a branch
  for (const char* bad : {"", "{}", "[1]", R"([{"text": "b", "leaf": 1}])",
                          R"([{"id": "a", "text": "b"}])",
                          R"([{"id": 1, "text": "b", "leaf": 1}])",
                          R"([{"id": "a", "text": "b", "leaf": "yes"}])"}) {
    EXPECT_EQ(ParseFindAnswer(bad).status().code(), absl::StatusCode::kDataLoss)
        << bad;
  }
}

TEST(GraphiteWeb, CheckRenderAnswerWantsGraphitesListOfSeries) {
  EXPECT_TRUE(CheckRenderAnswer("[]").ok());
  EXPECT_TRUE(CheckRenderAnswer(kRenderAnswer).ok());
  EXPECT_TRUE(
      CheckRenderAnswer(R"([{"target": "a", "datapoints": [[-1e9999, 1]]}])")
          .ok());
  for (const char* bad :
       {"", "null", "{}", R"([{"target": "a"}])", R"([{"datapoints": []}])",
        R"([{"target": 1, "datapoints": []}])",
        R"([{"target": "a", "datapoints": [[1]]}])",
        R"([{"target": "a", "datapoints": [["1", 2]]}])",
        R"([{"target": "a", "datapoints": [[1, null]]}])"}) {
    EXPECT_EQ(CheckRenderAnswer(bad).code(), absl::StatusCode::kDataLoss)
        << bad;
  }
}

TEST(GraphiteWeb, ParseRenderAnswerKeepsThePointsWithAFiniteValue) {
  auto series = ParseRenderAnswer(
      R"([{"target": "a.1e9999", "datapoints": [[1.5, 60], [null, 70],
            [1e9999, 80], [-1e9999, 90], [-2, 100.0]]},
          {"target": "b", "datapoints": []}])");
  ASSERT_TRUE(series.ok()) << series.status();
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0].target, "a.1e9999");  // a name is not a number
  EXPECT_EQ((*series)[0].points,
            (std::vector<std::pair<int64_t, double>>{{60, 1.5}, {100, -2}}));
  EXPECT_EQ((*series)[1].target, "b");
  EXPECT_TRUE((*series)[1].points.empty());
  for (const char* bad :
       {R"([{"target": "a", "datapoints": [[1, 60.5]]}])",
        R"([{"target": "a", "datapoints": [[1, -60]]}])",
        R"([{"target": "a", "datapoints": [[1, 1e300]]}])",
        R"([{"target": "a", "datapoints": [[1, 1e9999]]}])"}) {
    EXPECT_EQ(ParseRenderAnswer(bad).status().code(),
              absl::StatusCode::kDataLoss)
        << bad;
    EXPECT_EQ(CheckRenderAnswer(bad).code(), absl::StatusCode::kDataLoss)
        << bad;
  }
}

TEST(GraphiteWeb, IsGraphiteTimeTakesGraphitesFormsOnly) {
  for (const char* good :
       {"now", "-6h", "-2d", "-30min", "-1w", "+1h", "-3mon", "-1y", "-90s",
        "-10minutes", "-2days", "now-6h", "now+5min", "1767225600", "0"}) {
    EXPECT_TRUE(IsGraphiteTime(good)) << good;
  }
  for (const char* bad :
       {"", "6h", "-h", "-6", "-6x", "-6hours&target=x", "now-", "nowish",
        "yesterday", "-6 h", "1767225600.5", "1234567890123", "-1234567890h",
        "12:00_20260101", "-6h\n"}) {
    EXPECT_FALSE(IsGraphiteTime(bad)) << bad;
  }
}

std::map<std::string, std::string> Query(
    std::initializer_list<std::pair<const std::string, std::string>> q) {
  return q;
}

TEST(GraphEndpoint, ProxiesRenderAndSaysWhatIsWrong) {
  FakeGraphite g;
  g.Answer({200, "application/json", kRenderAnswer});
  GraphiteOptions options;
  options.url = g.url();
  options.timeout_ms = 2000;

  HttpResponse r = GraphResponse(options, Query({{"target", "servers.load"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, kRenderAnswer);
  // from/until default to the last six hours.
  EXPECT_EQ(g.last(),
            "/render?format=json&target=servers.load&from=-6h&until=now");
  r = GraphResponse(
      options,
      Query({{"target", "a"}, {"from", "1767225600"}, {"until", "-2d"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(g.last(), "/render?format=json&target=a&from=1767225600&until=-2d");

  auto error = [](const HttpResponse& resp) {
    return nlohmann::json::parse(resp.body)["error"];
  };
  r = GraphResponse(options, Query({}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r)["field"], "target");
  r = GraphResponse(options, Query({{"target", "a"}, {"from", "-6h;rm"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r)["field"], "from");
  r = GraphResponse(options, Query({{"target", "a"}, {"until", "later"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r)["field"], "until");
  r = GraphResponse(
      options, Query({{"target", std::string(kMaxGraphTargetBytes + 1, 'a')}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(error(r)["message"].get<std::string>(),
              HasSubstr("longer than 4096 bytes"));

  // graphite-web refusing the target is the caller's error, quoted.
  g.Answer({400, "text/plain",
            "Invalid parameters (Received request for unknown function: "
            "nope)"});
  r = GraphResponse(options, Query({{"target", "nope(a)"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error(r)["field"], "target");
  EXPECT_EQ(error(r)["message"],
            "target: graphite-web /render answered HTTP 400: Invalid "
            "parameters (Received request for unknown function: nope)");

  g.Answer({500, "text/html", "<h1>Server Error (500)</h1>"});
  r = GraphResponse(options, Query({{"target", "a"}}));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(error(r)["message"],
            "graphite-web /render answered HTTP 500: "
            "<h1>Server Error (500)</h1>");

  GraphiteOptions off;
  r = GraphResponse(off, Query({{"target", "a"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(error(r)["message"].get<std::string>(),
              HasSubstr("[graphite] url is not set"));
}

TEST(GraphEndpoint, AtMostAFewRequestsWaitForGraphiteWeb) {
  FakeGraphite g;
  g.Answer({200, "application/json", "[]", 5000});  // hangs
  GraphiteOptions options;
  options.url = g.url();
  options.timeout_ms = 1500;
  std::atomic<int> timed_out{0};
  std::vector<std::thread> waiting;
  for (int i = 0; i < kMaxGraphsInFlight; ++i) {
    waiting.emplace_back([&] {
      if (GraphResponse(options, Query({{"target", "a"}})).status == 502) {
        ++timed_out;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const HttpResponse r = GraphResponse(options, Query({{"target", "a"}}));
  EXPECT_EQ(r.status, 503) << r.body;
  for (std::thread& t : waiting) t.join();
  EXPECT_EQ(timed_out.load(), kMaxGraphsInFlight);
  // The places are given back.
  g.Answer({200, "application/json", "[]"});
  EXPECT_EQ(GraphResponse(options, Query({{"target", "a"}})).status, 200);
}

}  // namespace
}  // namespace gralarm
