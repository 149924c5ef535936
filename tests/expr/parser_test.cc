#include "expr/parser.h"

#include <cmath>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gralarm::expr {
namespace {

using ::testing::HasSubstr;
using K = Node::Kind;

Node MustParse(std::string_view target) {
  absl::StatusOr<Node> node = Parse(target);
  EXPECT_TRUE(node.ok()) << target << ": " << node.status();
  return node.ok() ? *node : Node{};
}

// The error message of parsing `target`, or "OK: <format>".
std::string ErrorOf(std::string_view target) {
  absl::StatusOr<Node> node = Parse(target);
  if (node.ok()) return "OK: " + Format(*node);
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(node.status().message());
}

// Parses, checks that Format gives `canonical` and that it parses back to the
// same tree.
void ExpectCanonical(std::string_view target, std::string_view canonical) {
  SCOPED_TRACE(target);
  const Node node = MustParse(target);
  EXPECT_EQ(Format(node), canonical);
  absl::StatusOr<Node> again = Parse(Format(node));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(SameTree(node, *again)) << Format(*again);
}

// A compact dump of a tree: C(name,args...,kw=arg), P("path"), S("text"),
// I(int), F(float, 'e' lower-cased), B(bool), N, INF.
std::string Dump(const Node& n) {
  auto quote = [](const std::string& t) {
    std::string out = "\"";
    for (char c : t) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out + "\"";
  };
  switch (n.kind) {
    case K::kPath:
      return "P(" + quote(n.text) + ")";
    case K::kString:
      return "S(" + quote(n.text) + ")";
    case K::kInteger:
      return "I(" + n.text + ")";
    case K::kFloat: {
      std::string t = n.text;
      for (char& c : t) c = c == 'E' ? 'e' : c;
      return "F(" + t + ")";
    }
    case K::kBool:
      return n.boolean ? "B(true)" : "B(false)";
    case K::kNone:
      return "N";
    case K::kInfinity:
      return "INF";
    case K::kCall: {
      std::string out = "C(" + n.text;
      for (const Node& a : n.args) out += "," + Dump(a);
      for (const auto& [k, v] : n.kwargs) out += "," + k + "=" + Dump(v);
      return out + ")";
    }
  }
  return "?";
}

// Targets and the tree graphite-web 1.1.8's grammar (pyparsing, with its
// evaluator's pipe rewriting) reads from them, in the notation of Dump.
TEST(ParserTest, ReadsAsGraphiteDoes) {
  struct Case {
    const char* target;
    const char* graphite;
  };
  const Case kCases[] = {
      {"a.b|scale(2)|alias('x')", "C(alias,C(scale,P(\"a.b\"),I(2)),S(\"x\"))"},
      {"sumSeries(a.{b,c}.d, e.{f,g,h})",
       "C(sumSeries,P(\"a.{b,c}.d\"),P(\"e.{f,g,h}\"))"},
      {"f(1.5x, 2.5.3, 1e+5, -x, +5, 007)",
       "C(f,P(\"1.5x\"),P(\"2.5.3\"),P(\"1e+5\"),P(\"-x\"),P(\"+5\"),I(007))"},
      {"f(1|g(), -2 |g(), 1e3| g())",
       "C(f,C(g,P(\"1\")),C(g,P(\"-2\")),C(g,P(\"1e3\")))"},
      {"f(true, FALSE, None, inf, InF, trueish, infra.x, none_x, inf$)",
       "C(f,B(true),B(false),N,INF,INF,P(\"trueish\"),P(\"infra.x\"),P(\"none_"
       "x\"),P(\"inf$\"))"},
      {"f(a, true=1, none=2)", "C(f,P(\"a\"),true=I(1),none=I(2))"},
      {"f('a b', \"c'd\", 'e\\'f', 'g''h', \"\", '\\x41', \"x\\\"y\")",
       "C(f,S(\"a "
       "b\"),S(\"c'd\"),S(\"e\\\\'f\"),S(\"g''h\"),S(\"\"),S(\"\\\\x41\"),S("
       "\"x\\\\\\\"y\"))"},
      {"f(a\\(b\\), a\\.b, a\\=b, c.d=e, =f, \\{x\\}, {x\\,y,z}, a=b)",
       "C(f,P(\"a(b)\"),P(\"a.b\"),P(\"a=b\"),P(\"c.d=e\"),P(\"=f\"),P(\"{x}\")"
       ",P(\"{x,y,z}\"),a=P(\"b\"))"},
      {"true.x|scale(2)", "C(scale,P(\"true.x\"),I(2))"},
      {"5|scale(2)|sumSeries()", "C(sumSeries,C(scale,P(\"5\"),I(2)))"},
      {"sumSeries(a|inf(2), b|true())",
       "C(sumSeries,C(inf,P(\"a\"),I(2)),C(true,P(\"b\")))"},
      {"sumSeries ( a.b ,\tc.d )", "C(sumSeries,P(\"a.b\"),P(\"c.d\"))"},
      {"a;tag=v.x+y@z#~!$%^&*<>/", "P(\"a;tag=v.x+y@z#~!$%^&*<>/\")"},
      {"f(a, -1.5E-2, 1E5, 2.50)", "C(f,P(\"a\"),F(-1.5e-2),F(1e5),F(2.50))"},
      {"a.b | scale(2)   |   offset(-1)",
       "C(offset,C(scale,P(\"a.b\"),I(2)),I(-1))"},
      {"groupByNode(a.*.b, 1, 'sum')",
       "C(groupByNode,P(\"a.*.b\"),I(1),S(\"sum\"))"},
      {"movingAverage(a.*, '5min', xFilesFactor=0.5)",
       "C(movingAverage,P(\"a.*\"),S(\"5min\"),xFilesFactor=F(0.5))"},
      {"f(a, x = 1.5, y_2='s', z=g(c))",
       "C(f,P(\"a\"),x=F(1.5),y_2=S(\"s\"),z=C(g,P(\"c\")))"},
      {"f( )", "C(f)"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.target);
    absl::StatusOr<Node> node = Parse(c.target);
    ASSERT_TRUE(node.ok()) << node.status();
    EXPECT_EQ(Dump(*node), c.graphite);
    absl::StatusOr<Node> again = Parse(Format(*node));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(Dump(*again), c.graphite) << Format(*node);
  }
}

TEST(ParserTest, IssueExamples) {
  ExpectCanonical("aliasByNode(perSecond(cgnat.*.ethtrunk3.in_octets), 1)",
                  "aliasByNode(perSecond(cgnat.*.ethtrunk3.in_octets),1)");
  ExpectCanonical("sumSeries(mme.*.enodeb.disconnected)",
                  "sumSeries(mme.*.enodeb.disconnected)");
  ExpectCanonical("asPercent(sumSeries(a.*.x), sumSeries(a.*.y))",
                  "asPercent(sumSeries(a.*.x),sumSeries(a.*.y))");
  ExpectCanonical("groupByNode(a.*.b, 1, 'sum')", "groupByNode(a.*.b,1,'sum')");
}

TEST(ParserTest, CallTree) {
  const Node n =
      MustParse("aliasByNode(perSecond(cgnat.*.ethtrunk3.in_octets), 1)");
  ASSERT_EQ(n.kind, K::kCall);
  EXPECT_EQ(n.text, "aliasByNode");
  EXPECT_EQ(n.column, 1u);
  EXPECT_EQ(n.raw, "aliasByNode(perSecond(cgnat.*.ethtrunk3.in_octets), 1)");
  ASSERT_EQ(n.args.size(), 2u);
  const Node& inner = n.args[0];
  EXPECT_EQ(inner.kind, K::kCall);
  EXPECT_EQ(inner.text, "perSecond");
  EXPECT_EQ(inner.column, 13u);
  EXPECT_EQ(inner.raw, "perSecond(cgnat.*.ethtrunk3.in_octets)");
  ASSERT_EQ(inner.args.size(), 1u);
  EXPECT_EQ(inner.args[0].kind, K::kPath);
  EXPECT_EQ(inner.args[0].text, "cgnat.*.ethtrunk3.in_octets");
  EXPECT_EQ(inner.args[0].column, 23u);
  EXPECT_EQ(n.args[1].kind, K::kInteger);
  EXPECT_EQ(n.args[1].integer, 1);
  EXPECT_EQ(n.args[1].number, 1.0);
  EXPECT_EQ(n.args[1].text, "1");
  EXPECT_EQ(n.args[1].column, 53u);
}

TEST(ParserTest, TopLevelPathAndGlobs) {
  const Node n = MustParse("  a.b*.c?.d[0-9].{x,y}z.e-f_g:h ");
  EXPECT_EQ(n.kind, K::kPath);
  EXPECT_EQ(n.text, "a.b*.c?.d[0-9].{x,y}z.e-f_g:h");
  EXPECT_EQ(n.column, 3u);
  ExpectCanonical("a.{b,c}{d,e}.f", "a.{b,c}{d,e}.f");
  ExpectCanonical("{a,b}", "{a,b}");
  // Characters graphite accepts in a path: printable ASCII but (){},.'"\|
  ExpectCanonical("a;tag=v.x+y@z#~!$%^&*<>/", "a;tag=v.x+y@z#~!$%^&*<>/");
  // '=' is escaped only where `name=` would read as a keyword argument.
  ExpectCanonical("f(a\\=b, c.d=e, =f)", "f(a\\=b,c.d=e,=f)");
}

TEST(ParserTest, BracesWithCommasInsideCalls) {
  const Node n = MustParse("sumSeries(a.{b,c}.d, e.{f,g,h})");
  ASSERT_EQ(n.args.size(), 2u);
  EXPECT_EQ(n.args[0].text, "a.{b,c}.d");
  EXPECT_EQ(n.args[1].text, "e.{f,g,h}");
  EXPECT_EQ(n.args[1].column, 22u);
  ExpectCanonical("sumSeries(a.{b,c}.d, e.{f,g,h})",
                  "sumSeries(a.{b,c}.d,e.{f,g,h})");
}

TEST(ParserTest, Escapes) {
  const Node n = MustParse("a\\(b\\).c\\,d.e\\=f.g\\\\h.i\\{j\\}");
  EXPECT_EQ(n.text, "a(b).c,d.e=f.g\\h.i{j}");
  ExpectCanonical("a\\(b\\).c\\,d.e\\=f", "a\\(b\\).c\\,d.e=f");
  // An escaped dot is a dot (graphite joins the text).
  EXPECT_EQ(MustParse("a\\.b").text, "a.b");
  // Dots that would leave an empty element are escaped back.
  ExpectCanonical("a\\..b", "a\\..b");
  ExpectCanonical("\\.a.b\\.", "\\.a.b\\.");
  // Braces that do not read as alternatives are escaped back.
  ExpectCanonical("a\\{b.c\\}\\,d", "a{b\\.c}\\,d");
  ExpectCanonical("a\\{b\\,c\\}", "a{b,c}");
  ExpectCanonical("a.\\{\\}.b\\{\\,c\\}", "a.\\{\\}.b\\{\\,c\\}");
  ExpectCanonical("x.\\{b\\}", "x.{b}");
  EXPECT_EQ(MustParse("{a\\,b,c}").text, "{a,b,c}");
}

TEST(ParserTest, Numbers) {
  const Node n = MustParse("f(1, -2, 3.25, -0.5, 1e3, 2.5E-2, -1e-1, 007)");
  ASSERT_EQ(n.args.size(), 8u);
  EXPECT_EQ(n.args[0].kind, K::kInteger);
  EXPECT_EQ(n.args[1].kind, K::kInteger);
  EXPECT_EQ(n.args[1].integer, -2);
  EXPECT_EQ(n.args[2].kind, K::kFloat);
  EXPECT_EQ(n.args[2].number, 3.25);
  EXPECT_EQ(n.args[2].text, "3.25");
  EXPECT_EQ(n.args[3].number, -0.5);
  EXPECT_EQ(n.args[4].kind, K::kFloat);
  EXPECT_EQ(n.args[4].number, 1000);
  EXPECT_EQ(n.args[4].text, "1e3");
  EXPECT_EQ(n.args[5].number, 0.025);
  EXPECT_EQ(n.args[5].text, "2.5E-2");
  EXPECT_EQ(n.args[6].number, -0.1);
  EXPECT_EQ(n.args[7].kind, K::kInteger);
  EXPECT_EQ(n.args[7].integer, 7);
  EXPECT_EQ(n.args[7].text, "007");
  ExpectCanonical("f(1, -2, 3.25, -0.5, 1e3, 2.5E-2, -1e-1, 007)",
                  "f(1,-2,3.25,-0.5,1e3,2.5E-2,-1e-1,007)");
  // Python's float(): out of range gives inf.
  EXPECT_TRUE(std::isinf(MustParse("f(1e400)").args[0].number));
  EXPECT_EQ(MustParse("f(-9223372036854775808)").args[0].integer, INT64_MIN);
}

TEST(ParserTest, NumberOnlyBeforeCommaOrParen) {
  // graphite's afterNumber: otherwise the text is a path.
  const Node n = MustParse("f(1.5x, 2.5.3, 1e+5, -x, 5 , 6\n)");
  ASSERT_EQ(n.args.size(), 6u);
  EXPECT_EQ(n.args[0].kind, K::kPath);
  EXPECT_EQ(n.args[0].text, "1.5x");
  EXPECT_EQ(n.args[1].kind, K::kPath);
  EXPECT_EQ(n.args[1].text, "2.5.3");
  EXPECT_EQ(n.args[2].kind, K::kPath);
  EXPECT_EQ(n.args[3].kind, K::kPath);
  EXPECT_EQ(n.args[4].kind, K::kInteger);
  EXPECT_EQ(n.args[5].kind, K::kInteger);
  // At the top, a number is a path.
  EXPECT_EQ(MustParse("42").kind, K::kPath);
}

TEST(ParserTest, Keywords) {
  const Node n = MustParse("f(true, FALSE, None, inf, InF, trueish, infra.x)");
  ASSERT_EQ(n.args.size(), 7u);
  EXPECT_EQ(n.args[0].kind, K::kBool);
  EXPECT_TRUE(n.args[0].boolean);
  EXPECT_EQ(n.args[1].kind, K::kBool);
  EXPECT_FALSE(n.args[1].boolean);
  EXPECT_EQ(n.args[1].text, "FALSE");
  EXPECT_EQ(n.args[2].kind, K::kNone);
  EXPECT_EQ(n.args[3].kind, K::kInfinity);
  EXPECT_TRUE(std::isinf(n.args[3].number) && n.args[3].number > 0);
  EXPECT_EQ(n.args[4].kind, K::kInfinity);
  EXPECT_EQ(n.args[5].kind, K::kPath);
  EXPECT_EQ(n.args[6].kind, K::kPath);
  EXPECT_EQ(n.args[6].text, "infra.x");
  ExpectCanonical("f(true, FALSE, None, inf)", "f(true,FALSE,None,inf)");
  // At the top, a keyword is a path.
  EXPECT_EQ(MustParse("true").kind, K::kPath);
}

TEST(ParserTest, Strings) {
  const Node n = MustParse(R"(f('a b', "c'd", 'e\'f', 'g''h', "", '\x41'))");
  ASSERT_EQ(n.args.size(), 6u);
  EXPECT_EQ(n.args[0].kind, K::kString);
  EXPECT_EQ(n.args[0].text, "a b");
  EXPECT_EQ(n.args[0].column, 3u);
  EXPECT_EQ(n.args[1].text, "c'd");
  // graphite keeps the text between the quotes as written.
  EXPECT_EQ(n.args[2].text, R"(e\'f)");
  EXPECT_EQ(n.args[3].text, "g''h");
  EXPECT_EQ(n.args[4].text, "");
  EXPECT_EQ(n.args[5].text, R"(\x41)");
  ExpectCanonical(R"(f('a b', "c'd", 'e\'f', 'g''h', "", '\x41'))",
                  R"(f('a b',"c'd",'e\'f','g''h','','\x41'))");
  ExpectCanonical(R"(alias(a, "x\"y"))", R"(alias(a,'x\"y'))");
}

TEST(ParserTest, KeywordArguments) {
  const Node n = MustParse("f(a.b, 3, x = 1.5, y_2='s', z=g(c))");
  ASSERT_EQ(n.args.size(), 2u);
  ASSERT_EQ(n.kwargs.size(), 3u);
  EXPECT_EQ(n.kwargs[0].first, "x");
  EXPECT_EQ(n.kwargs[0].second.kind, K::kFloat);
  EXPECT_EQ(n.kwargs[0].second.column, 15u);
  EXPECT_EQ(n.kwargs[1].first, "y_2");
  EXPECT_EQ(n.kwargs[1].second.text, "s");
  EXPECT_EQ(n.kwargs[2].first, "z");
  EXPECT_EQ(n.kwargs[2].second.kind, K::kCall);
  ExpectCanonical("f(a.b, 3, x = 1.5, y_2='s', z=g(c))",
                  "f(a.b,3,x=1.5,y_2='s',z=g(c))");
  // A keyword may be named like a literal.
  ExpectCanonical("f(a, true=2)", "f(a,true=2)");
  // graphite's grammar needs a positional argument before keyword ones.
  EXPECT_EQ(ErrorOf("f(k=1)"),
            "column 3: keyword argument before any positional argument "
            "(graphite needs the series first)");
  EXPECT_EQ(ErrorOf("a|scale(factor=2)"),
            "column 9: keyword argument before any positional argument "
            "(graphite needs the series first)");
  // A dotted name before '=' is a path with '=' in it.
  EXPECT_EQ(MustParse("f(a.b=c)").args[0].text, "a.b=c");
}

TEST(ParserTest, Pipes) {
  const Node n = MustParse("a.b|scale(2)|alias('x')");
  ASSERT_EQ(n.kind, K::kCall);
  EXPECT_EQ(n.text, "alias");
  EXPECT_EQ(n.column, 14u);
  EXPECT_EQ(n.raw, "alias('x')");
  ASSERT_EQ(n.args.size(), 2u);
  EXPECT_EQ(n.args[0].text, "scale");
  EXPECT_EQ(n.args[0].column, 5u);
  ASSERT_EQ(n.args[0].args.size(), 2u);
  EXPECT_EQ(n.args[0].args[0].text, "a.b");
  EXPECT_EQ(n.args[0].args[1].integer, 2);
  EXPECT_EQ(n.args[1].text, "x");
  ExpectCanonical("a.b|scale(2)|alias('x')", "alias(scale(a.b,2),'x')");
  ExpectCanonical("a.b  |  scale(2) | aliasByNode(1)",
                  "aliasByNode(scale(a.b,2),1)");
  ExpectCanonical("sumSeries(a.* | scale(2), b | offset(1))",
                  "sumSeries(scale(a.*,2),offset(b,1))");
  ExpectCanonical("sumSeries(a.*)|movingAverage(5, xFilesFactor=0.5)",
                  "movingAverage(sumSeries(a.*),5,xFilesFactor=0.5)");
  // Calls named like keywords are only possible at the top or piped.
  ExpectCanonical("sumSeries(a|inf(2), b|true())",
                  "sumSeries(a|inf(2),b|true())");
  ExpectCanonical("true(a)|none(1)", "none(a|true(),1)");
  EXPECT_THAT(ErrorOf("sumSeries(inf(a))"),
              HasSubstr("column 14: expected ',' or ')' after argument"));
}

TEST(ParserTest, PipedPathsThatReadAsLiteralsFormatAsPipes) {
  // Only a pipe can make these paths; Format keeps the pipe.
  ExpectCanonical("5|scale(2)", "5|scale(2)");
  ExpectCanonical("-1e5|scale(2)|sumSeries()", "sumSeries(-1e5|scale(2))");
  ExpectCanonical("true.x|scale(2)", "true.x|scale(2)");
  ExpectCanonical("f(1.5|scale(2))", "f(scale(1\\.5,2))");
  ExpectCanonical("f(1\\.5)", "f(1\\.5)");
  ExpectCanonical("none|f()|g(x)", "none|f()|g(x)");
  // A call named like a keyword with a literal first argument can only
  // stand at the top (found by the fuzzer).
  ExpectCanonical("none(2)|sumavgies(2)|sum()", "none(2)|sumavgies(2)|sum()");
  ExpectCanonical("none(2)|g()|f(x)", "none(2)|g()|f(x)");
}

TEST(ParserTest, Whitespace) {
  ExpectCanonical(" \tsumSeries ( a.b ,\n c.d ) \r\n", "sumSeries(a.b,c.d)");
  ExpectCanonical("f( )", "f()");
  ExpectCanonical("f(\n  a, x=1\n)", "f(a,x=1)");
}

TEST(ParserTest, Errors) {
  EXPECT_EQ(ErrorOf(""), "column 1: empty target");
  EXPECT_EQ(ErrorOf("   "), "column 1: empty target");
  EXPECT_EQ(ErrorOf("sumSeries(a.b c.d)"),
            "column 15: expected ',' or ')' after argument");
  EXPECT_EQ(ErrorOf("asPercent(sumSeries(a.*.x) sumSeries(a.*.y))"),
            "column 28: expected ',' or ')' after argument");
  EXPECT_THAT(ErrorOf("sumSeries(a.b"),
              HasSubstr("column 14: expected ',' or ')' after argument: the "
                        "'(' of sumSeries at column 10 is not closed"));
  EXPECT_THAT(ErrorOf("sumSeries(a.b, "),
              HasSubstr("column 16: expected an argument"));
  EXPECT_EQ(ErrorOf("sumSeries(a.b))"),
            "column 15: unbalanced ')': no '(' is open here");
  EXPECT_EQ(ErrorOf("f(a,)"), "column 5: expected an argument after ','");
  EXPECT_EQ(ErrorOf("f(,a)"), "column 3: expected an argument");
  EXPECT_EQ(ErrorOf("f(a, x=1, a.b)"),
            "column 11: positional argument after keyword arguments (expected "
            "name=value)");
  EXPECT_EQ(ErrorOf("f(a, x=)"), "column 8: expected a value for 'x='");
  EXPECT_THAT(ErrorOf("alias(a, 'x)"),
              HasSubstr("column 10: unterminated string"));
  EXPECT_THAT(ErrorOf("alias(a, \"x')"),
              HasSubstr("column 10: unterminated string"));
  EXPECT_THAT(ErrorOf("alias(a, 'x\ny')"),
              HasSubstr("column 10: unterminated string: no closing quote "
                        "before the line break at column 12"));
  EXPECT_THAT(ErrorOf("alias(a, 'x\\xg')"),
              HasSubstr("column 10: unterminated string: invalid escape"));
  EXPECT_EQ(ErrorOf("a.{b,c"), "column 3: unclosed '{' in path");
  EXPECT_THAT(ErrorOf("f(a.{b,c)"),
              HasSubstr("column 9: expected ',' or '}' inside '{'"));
  EXPECT_THAT(ErrorOf("a.{b.c}"),
              HasSubstr("column 5: expected ',' or '}' inside '{'"));
  EXPECT_THAT(ErrorOf("a.{}"),
              HasSubstr("column 4: expected an alternative inside '{'"));
  EXPECT_THAT(ErrorOf("a.{b,}"),
              HasSubstr("column 6: expected an alternative inside '{'"));
  EXPECT_THAT(ErrorOf("a.b}"), HasSubstr("column 4: unexpected '}'"));
  EXPECT_THAT(ErrorOf("f(a.b})"),
              HasSubstr("column 6: expected ',' or ')' after argument"));
  EXPECT_EQ(ErrorOf("a..b"), "column 3: empty path element ('..')");
  EXPECT_EQ(ErrorOf("a.b."), "column 5: expected a path element after '.'");
  EXPECT_EQ(ErrorOf(".a"), "column 1: a path cannot start with '.'");
  EXPECT_THAT(ErrorOf("(a)"), HasSubstr("column 1: unexpected '('"));
  EXPECT_THAT(ErrorOf("a.b c"), HasSubstr("column 5: unexpected 'c' after"));
  EXPECT_EQ(ErrorOf("a.b|"), "column 4: expected a function call after '|'");
  EXPECT_EQ(ErrorOf("a.b|c.d"), "column 5: expected a function call after '|'");
  EXPECT_THAT(ErrorOf("a.b\\q"), HasSubstr("column 4: invalid escape in path"));
  EXPECT_THAT(ErrorOf("sum-x(a)"),
              HasSubstr("column 6: unexpected '(' after the expression"));
  EXPECT_THAT(ErrorOf("f(sum-x(a))"),
              HasSubstr("column 8: expected ',' or ')' after argument (a "
                        "function name is letters"));
  EXPECT_THAT(ErrorOf("f(true.x)"),
              HasSubstr("column 7: expected ',' or ')' after argument"));
  EXPECT_THAT(ErrorOf("f(a, \xc3\xa9)"),
              HasSubstr("column 6: unexpected byte 0xc3"));
  EXPECT_THAT(ErrorOf("f(99999999999999999999)"),
              HasSubstr("column 3: integer 99999999999999999999 is out of "
                        "range"));
}

TEST(ParserTest, LimitsLength) {
  std::string big = "a." + std::string(kMaxTargetBytes, 'b');
  EXPECT_THAT(ErrorOf(big), HasSubstr("longer than the limit of 65536"));
  big.resize(kMaxTargetBytes);
  EXPECT_EQ(MustParse(big).kind, K::kPath);
}

TEST(ParserTest, LimitsDepth) {
  auto nested = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "f(";
    s += "a";
    for (int i = 0; i < n; ++i) s += ")";
    return s;
  };
  EXPECT_TRUE(Parse(nested(kMaxDepth)).ok());
  EXPECT_EQ(ErrorOf(nested(kMaxDepth + 1)),
            "column 129: calls nested deeper than 64");
  // Pipes nest too.
  std::string piped = "a";
  for (int i = 0; i < kMaxDepth; ++i) piped += "|f()";
  EXPECT_TRUE(Parse(piped).ok());
  piped += "|g()";
  EXPECT_THAT(ErrorOf(piped), HasSubstr("column 259: expression nested "
                                        "deeper than 64 calls"));
  // Hostile inputs end in an error, not a crash.
  EXPECT_FALSE(Parse(std::string(60000, '(')).ok());
  EXPECT_FALSE(Parse(std::string(30000, 'f') + std::string(30000, '(')).ok());
  std::string opens;
  for (int i = 0; i < 20000; ++i) opens += "f(";
  EXPECT_THAT(ErrorOf(opens), HasSubstr("nested deeper than 64"));
  std::string pipes = "a";
  for (int i = 0; i < 10000; ++i) pipes += "|f()";
  EXPECT_THAT(ErrorOf(pipes), HasSubstr("nested deeper than 64"));
}

TEST(ParserTest, SameTreeIgnoresColumnsAndRaw) {
  const Node a = MustParse("f( a , 1 )");
  const Node b = MustParse("f(a,1)");
  EXPECT_TRUE(SameTree(a, b));
  EXPECT_FALSE(SameTree(a, MustParse("f(a,2)")));
  EXPECT_FALSE(SameTree(a, MustParse("f(a,1.0)")));
  EXPECT_FALSE(SameTree(a, MustParse("f(a,k=1)")));
  EXPECT_FALSE(SameTree(a, MustParse("g(a,1)")));
}

}  // namespace
}  // namespace gralarm::expr
