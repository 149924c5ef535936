#include "gralarm/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "gralarm/http_server.h"
#include "gralarm/web_assets.h"

namespace gralarm {
namespace {

TEST(HostAllowed, ListenAddressAndLocalhostWithThePort) {
  const std::vector<std::string> none;
  for (const char* h : {"127.0.0.1:2080", "localhost:2080", "LocalHost:2080",
                        "[::1]:2080", ""}) {
    EXPECT_TRUE(HostAllowed(h, "127.0.0.1", 2080, none)) << h;
  }
  EXPECT_TRUE(HostAllowed("10.1.2.3:2080", "10.1.2.3", 2080, none));
  EXPECT_TRUE(HostAllowed("[fd00::1]:2080", "fd00::1", 2080, none));
  // A rebound name, another port, another address, nonsense.
  for (const char* h : {"evil.example:2080", "localhost:2081", "localhost",
                        "127.0.0.2:2080", "10.1.2.3:2080", "[::1", "[::1]x",
                        "localhost:", "localhost:99999", ":2080"}) {
    EXPECT_FALSE(HostAllowed(h, "127.0.0.1", 2080, none)) << h;
  }
  EXPECT_TRUE(HostAllowed("localhost", "127.0.0.1", 80, none));
}

TEST(HostAllowed, WildcardListenAcceptsAddressLiteralsOnly) {
  const std::vector<std::string> none;
  EXPECT_TRUE(HostAllowed("192.0.2.7:2080", "0.0.0.0", 2080, none));
  EXPECT_TRUE(HostAllowed("[2001:db8::7]:2080", "::", 2080, none));
  EXPECT_FALSE(HostAllowed("192.0.2.7:2081", "0.0.0.0", 2080, none));
  EXPECT_FALSE(HostAllowed("gralarm.example:2080", "0.0.0.0", 2080, none));
  EXPECT_FALSE(HostAllowed("0x7f.1:2080", "0.0.0.0", 2080, none));
}

TEST(HostAllowed, ConfiguredNames) {
  const std::vector<std::string> allowed = {"Gralarm.example", "noc:8080"};
  EXPECT_TRUE(HostAllowed("gralarm.example", "127.0.0.1", 2080, allowed));
  EXPECT_TRUE(HostAllowed("gralarm.EXAMPLE:443", "127.0.0.1", 2080, allowed));
  EXPECT_TRUE(HostAllowed("noc:8080", "127.0.0.1", 2080, allowed));
  EXPECT_FALSE(HostAllowed("noc:2080", "127.0.0.1", 2080, allowed));
  EXPECT_FALSE(HostAllowed("other.example", "127.0.0.1", 2080, allowed));
  EXPECT_TRUE(HostAllowed("anything:1", "127.0.0.1", 2080, {"*"}));
}

TEST(CsvTextCell, NeutralisesFormulasAndEscapesControls) {
  EXPECT_EQ(CsvTextCell("srv.a.cpu"), "srv.a.cpu");
  EXPECT_EQ(CsvTextCell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvTextCell("+1"), "\"'+1\"");
  EXPECT_EQ(CsvTextCell("-3.5"), "\"'-3.5\"");  // a text cell, not a number
  EXPECT_EQ(CsvTextCell("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(CsvTextCell("\tx"), "\"'\\x09x\"");
  EXPECT_EQ(CsvTextCell("\r=1"), "\"'\\x0D=1\"");
  EXPECT_EQ(CsvTextCell("a\x1b[31mb\x7f\n"), "a\\x1B[31mb\\x7F\\x0A");
  EXPECT_EQ(CsvTextCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvTextCell("a=b-c"), "a=b-c");  // only the first character counts
  EXPECT_EQ(CsvTextCell(""), "");
  EXPECT_EQ(CsvTextCell("\xff"), "\xef\xbf\xbd");  // valid UTF-8 out
}

TEST(ParseTimeParam, RangeIs1970To2100) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseTimeParam("1767225600", &ms));
  EXPECT_EQ(ms, 1767225600000);
  EXPECT_TRUE(ParseTimeParam("2099-12-31T23:59:59Z", &ms));
  EXPECT_TRUE(ParseTimeParam("1767225600.5", &ms));
  EXPECT_EQ(ms, 1767225600500);
  EXPECT_FALSE(ParseTimeParam("1767225600000", &ms));  // milliseconds
  EXPECT_FALSE(ParseTimeParam("4102444800", &ms));     // 2100-01-01
  EXPECT_FALSE(ParseTimeParam("2100-01-01T00:00:00Z", &ms));
  EXPECT_FALSE(ParseTimeParam("1969-12-31T23:59:59Z", &ms));
  EXPECT_FALSE(ParseTimeParam(std::string(400, '9'), &ms));  // overflow
  EXPECT_FALSE(ParseTimeParam("99999999999999999999", &ms));
  EXPECT_FALSE(ParseTimeParam(".", &ms));
  EXPECT_FALSE(ParseTimeParam("1.2.3", &ms));
}

TEST(WriteToken, KeepsTheLastGoodTokenWhenTheFileGoesBad) {
  const std::string path = ::testing::TempDir() + "/gralarm-write-token";
  ApiOptions o;
  o.token_file = path;
  std::remove(path.c_str());
  WriteToken token;
  // Never read: writes must be refused, not let through.
  EXPECT_EQ(token.Get(o).status().code(), absl::StatusCode::kUnavailable);
  std::ofstream(path) << "first\n";
  EXPECT_EQ(*token.Get(o), "first");
  std::ofstream(path, std::ios::trunc).flush();  // truncated mid-rotation
  EXPECT_EQ(*token.Get(o), "first");
  std::remove(path.c_str());  // removed
  EXPECT_EQ(*token.Get(o), "first");
  std::ofstream(path) << "second\n";  // rotated
  EXPECT_EQ(*token.Get(o), "second");
  o.token = "inline";  // api.token wins
  EXPECT_EQ(*token.Get(o), "inline");
  EXPECT_EQ(*token.Get(ApiOptions{}), "");
  std::remove(path.c_str());
}

TEST(WebPageResponse, PolicyAllowsOnlyThePagesOwnScriptAndStyle) {
  const HttpResponse r = WebPageResponse();
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Content-Security-Policy");
  const std::string& csp = r.headers[0].second;
  EXPECT_THAT(csp, ::testing::StartsWith("default-src 'none'; script-src "
                                         "'sha256-"));
  EXPECT_THAT(csp, ::testing::HasSubstr("; style-src 'sha256-"));
  EXPECT_THAT(csp, ::testing::HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, ::testing::Not(::testing::HasSubstr("unsafe")));
}

TEST(WebPageResponse, PolicyAllowsTheChartLibraryFromThisOriginOnly) {
  const std::string csp = WebPageResponse().headers[0].second;
  EXPECT_THAT(csp,
              ::testing::ContainsRegex("script-src ('sha256-[^']+' )+'self';"));
  EXPECT_THAT(csp,
              ::testing::ContainsRegex("style-src ('sha256-[^']+' )+'self';"));
  EXPECT_THAT(csp, ::testing::Not(::testing::HasSubstr("http")));
  EXPECT_THAT(std::string(IndexHtml()),
              ::testing::HasSubstr(R"(<script src="/assets/dygraph.min.js">)"));
}

TEST(WebAssetResponse, ServesDebiansDygraphsCompiledIn) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/assets/dygraph.min.js";
  HttpResponse js = WebAssetResponse(r);
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_THAT(js.body, ::testing::StartsWith("/*! @license"));
  EXPECT_THAT(js.body, ::testing::HasSubstr("Dygraph"));
  EXPECT_GT(js.body.size(), 100000u);
  r.path = "/assets/dygraph.min.css";
  HttpResponse css = WebAssetResponse(r);
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  EXPECT_THAT(css.body, ::testing::HasSubstr(".dygraph-legend"));
  for (const char* path :
       {"/assets/", "/assets/dygraph.js", "/assets/../etc/passwd",
        "/assets/dygraph.min.js/x", "/dygraph.min.js"}) {
    r.path = path;
    EXPECT_EQ(WebAssetResponse(r).status, 404) << path;
  }
  r.path = "/assets/dygraph.min.js";
  r.method = "POST";
  EXPECT_EQ(WebAssetResponse(r).status, 405);
}

}  // namespace
}  // namespace gralarm
