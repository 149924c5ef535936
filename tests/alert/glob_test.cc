#include "gralarm/glob.h"

#include <gtest/gtest.h>

namespace gralarm {
namespace {

struct GlobCase {
  const char* pattern;
  const char* name;
  bool match;
};

class GlobTable : public ::testing::TestWithParam<GlobCase> {};

TEST_P(GlobTable, MatchesLikeGraphite) {
  const GlobCase& c = GetParam();
  auto g = Glob::Compile(c.pattern);
  ASSERT_TRUE(g.ok()) << c.pattern << ": " << g.status();
  EXPECT_EQ(g->Matches(c.name), c.match) << c.pattern << " vs " << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Patterns, GlobTable,
    ::testing::Values(
        GlobCase{"a.b.c", "a.b.c", true}, GlobCase{"a.b.c", "a.b.cd", false},
        GlobCase{"a.b.c", "a.b", false}, GlobCase{"a.*.c", "a.xyz.c", true},
        GlobCase{"a.*.c", "a.c", false}, GlobCase{"a.*.c", "a.x.y.c", false},
        GlobCase{"a.*", "a.b.c", false}, GlobCase{"*", "anything", true},
        GlobCase{"a.b*", "a.b", true}, GlobCase{"a.b*", "a.bcd", true},
        GlobCase{"a.*b*", "a.xxbyy", true}, GlobCase{"a.*b", "a.xbxb", true},
        GlobCase{"a.*b", "a.xbx", false}, GlobCase{"a.?", "a.x", true},
        GlobCase{"a.?", "a.xy", false}, GlobCase{"a.[a-c]x", "a.bx", true},
        GlobCase{"a.[a-c]x", "a.dx", false}, GlobCase{"a.[!x]", "a.y", true},
        GlobCase{"a.[!x]", "a.x", false}, GlobCase{"a.[^x]", "a.x", false},
        GlobCase{"a.[]x]", "a.]", true}, GlobCase{"a.[0-9][0-9]", "a.42", true},
        GlobCase{"a.{b,c}.d", "a.c.d", true},
        GlobCase{"a.{b,c}.d", "a.e.d", false},
        GlobCase{"a.{b,c}*", "a.cat", true},
        GlobCase{"a.{b,c}*", "a.dog", false}, GlobCase{"a.{,x}y", "a.y", true},
        GlobCase{"a.{,x}y", "a.xy", true}, GlobCase{"a.b{,.c}", "a.b", true},
        GlobCase{"a.b{,.c}", "a.b.c", true},
        GlobCase{"a.{b.c,d}", "a.b.c", true},
        GlobCase{"a.{b.c,d}", "a.d", true}, GlobCase{"a.{,b}.c", "a.b.c", true},
        GlobCase{"a.{b,c}.{d,e}", "a.c.e", true},
        GlobCase{"cgnat.*.ethtrunk*.{input,output}.util_pct",
                 "cgnat.mad1.ethtrunk12.output.util_pct", true},
        GlobCase{"cgnat.*.ethtrunk*.{input,output}.util_pct",
                 "cgnat.mad1.eth12.output.util_pct", false},
        // Dots are literal, never "any character".
        GlobCase{"a.b", "axb", false}, GlobCase{"a.b.c", "a.b.c.d", false}));

TEST(Glob, RefusesBadPatterns) {
  EXPECT_FALSE(Glob::Compile("").ok());
  EXPECT_FALSE(Glob::Compile("a.{b,c").ok());
  EXPECT_FALSE(Glob::Compile("a.b}").ok());
  EXPECT_FALSE(Glob::Compile("a.[bc").ok());
  EXPECT_FALSE(Glob::Compile("a..b").ok());
  EXPECT_FALSE(Glob::Compile("a b").ok());
  EXPECT_FALSE(Glob::Compile("a;tag=1").ok());
  EXPECT_FALSE(Glob::Compile("{a,{b,c}}").ok());
}

TEST(Glob, ExactOnlyWithoutWildcards) {
  EXPECT_TRUE(Glob::Compile("a.b.c")->exact());
  EXPECT_FALSE(Glob::Compile("a.*.c")->exact());
  EXPECT_FALSE(Glob::Compile("a.{b,c}")->exact());
}

TEST(Glob, BoundsTheNumberOfExpansions) {
  EXPECT_FALSE(
      Glob::Compile("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}")
          .ok());
}

}  // namespace
}  // namespace gralarm
