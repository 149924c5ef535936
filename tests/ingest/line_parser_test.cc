#include "gralarm/line_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace gralarm {
namespace {

constexpr uint32_t kNow = 1800000000;

struct Case {
  std::string line;
  LineVerdict verdict;
  std::string path = "";   // expected when kOk
  double value = 0;        // expected when kOk
  uint32_t timestamp = 0;  // expected when kOk
  bool canonical = false;  // expected when kOk
};

std::string Describe(const Case& c) { return "line \"" + c.line + "\""; }

class LineParserTable : public ::testing::TestWithParam<Case> {};

TEST_P(LineParserTable, GivesTheExpectedVerdictAndFields) {
  const Case& c = GetParam();
  LineParserOptions options;
  options.max_line_bytes = 64;
  ParsedLine parsed;
  LineVerdict v = ParseLine(c.line, kNow, options, &parsed);
  ASSERT_EQ(static_cast<int>(v), static_cast<int>(c.verdict)) << Describe(c);
  if (v != LineVerdict::kOk) return;
  EXPECT_EQ(parsed.path, c.path) << Describe(c);
  EXPECT_DOUBLE_EQ(parsed.value, c.value) << Describe(c);
  EXPECT_EQ(parsed.timestamp, c.timestamp) << Describe(c);
  EXPECT_EQ(parsed.canonical, c.canonical) << Describe(c);
}

INSTANTIATE_TEST_SUITE_P(
    Spec3, LineParserTable,
    ::testing::Values(
        // Valid lines.
        Case{"a.b.c 1.5 1700000000", LineVerdict::kOk, "a.b.c", 1.5, 1700000000,
             true},
        Case{"a.b.c 42 1700000000\r", LineVerdict::kOk, "a.b.c", 42, 1700000000,
             false},
        Case{"a.b.c\t42\t1700000000", LineVerdict::kOk, "a.b.c", 42, 1700000000,
             false},
        Case{"a.b.c   42 \t 1700000000", LineVerdict::kOk, "a.b.c", 42,
             1700000000, false},
        Case{"  a.b.c 42 1700000000  ", LineVerdict::kOk, "a.b.c", 42,
             1700000000, false},
        Case{"a.b.c 42 -1", LineVerdict::kOk, "a.b.c", 42, kNow, false},
        Case{"a.b.c 42 -1.0", LineVerdict::kOk, "a.b.c", 42, kNow, false},
        Case{"a.b.c 42 1700000000.9", LineVerdict::kOk, "a.b.c", 42, 1700000000,
             false},
        Case{"a.b.c 42 1.7e9", LineVerdict::kOk, "a.b.c", 42, 1700000000,
             false},
        Case{"a.b.c 1e3 1700000000", LineVerdict::kOk, "a.b.c", 1000,
             1700000000, true},
        Case{"a.b.c -2.5E-2 1700000000", LineVerdict::kOk, "a.b.c", -0.025,
             1700000000, true},
        Case{"a.b.c +7 1700000000", LineVerdict::kOk, "a.b.c", 7, 1700000000,
             true},
        Case{"a.b.c .5 1700000000", LineVerdict::kOk, "a.b.c", 0.5, 1700000000,
             true},
        Case{"a.b.c 42 4294967295", LineVerdict::kOk, "a.b.c", 42, 4294967295u,
             true},
        Case{"a.b.c 42 1", LineVerdict::kOk, "a.b.c", 42, 1, true},
        Case{"cpu;host=a;dc=x 3 1700000000", LineVerdict::kOk,
             "cpu;host=a;dc=x", 3, 1700000000, true},
        Case{"n\xc3\xa9t.x 3 1700000000", LineVerdict::kOk, "n\xc3\xa9t.x", 3,
             1700000000, true},
        // Blank lines are skipped, not counted.
        Case{"", LineVerdict::kBlank}, Case{" \t \r", LineVerdict::kBlank},
        // Field count.
        Case{"a.b.c", LineVerdict::kFields},
        Case{"a.b.c 1", LineVerdict::kFields},
        Case{"a.b.c 1 1700000000 extra", LineVerdict::kFields},
        // Value.
        Case{"a.b.c x 1700000000", LineVerdict::kValue},
        Case{"a.b.c 1.2.3 1700000000", LineVerdict::kValue},
        Case{"a.b.c 0x10 1700000000", LineVerdict::kValue},
        Case{"a.b.c +-1 1700000000", LineVerdict::kValue},
        Case{"a.b.c 1e 1700000000", LineVerdict::kValue},
        // NaN and Inf.
        Case{"a.b.c nan 1700000000", LineVerdict::kNan},
        Case{"a.b.c NaN 1700000000", LineVerdict::kNan},
        Case{"a.b.c inf 1700000000", LineVerdict::kNan},
        Case{"a.b.c -Infinity 1700000000", LineVerdict::kNan},
        Case{"a.b.c 1e999 1700000000", LineVerdict::kNan},
        // Timestamp.
        Case{"a.b.c 1 now", LineVerdict::kTimestamp},
        Case{"a.b.c 1 0", LineVerdict::kTimestamp},
        Case{"a.b.c 1 -2", LineVerdict::kTimestamp},
        Case{"a.b.c 1 4294967296", LineVerdict::kTimestamp},
        Case{"a.b.c 1 99999999999", LineVerdict::kTimestamp},
        Case{"a.b.c 1 0.5", LineVerdict::kTimestamp},
        Case{"a.b.c 1 nan", LineVerdict::kTimestamp},
        // Path.
        Case{"a..b 1 1700000000", LineVerdict::kPath},
        Case{".a.b 1 1700000000", LineVerdict::kPath},
        Case{"a.b. 1 1700000000", LineVerdict::kPath},
        Case{";tag=1 1 1700000000", LineVerdict::kPath},
        Case{"a\x01"
             "b 1 1700000000",
             LineVerdict::kPath},
        Case{"a\x7f"
             "b 1 1700000000",
             LineVerdict::kPath},
        Case{"a.b\x1f 1 1700000000", LineVerdict::kPath},
        // Too long (the test limit is 64 bytes).
        Case{std::string(60, 'a') + " 1 1700000000", LineVerdict::kTooLong},
        Case{std::string(49, 'a') + " 1 1700000000", LineVerdict::kOk,
             std::string(49, 'a'), 1, 1700000000, true}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(LineParser, RefusesPathsCarbonCacheCannotDecode) {
  ParsedLine parsed;
  for (const char* path : {
           "if.eth\xff"
           "0",                   // Latin-1 byte
           "a.\xc3",              // cut short
           "a.\xc0\xae",          // overlong '.'
           "a.\xe0\x80\xaf",      // overlong
           "a.\xed\xa0\x80",      // surrogate U+D800
           "a.\xf4\x90\x80\x80",  // past U+10FFFF
           "a.\xf5\x80\x80\x80",  // invalid lead byte
           "a.\x80",              // lone continuation byte
           "a.b\xc2\xa0"
           "c",  // U+00A0, white space to Python
           "a.b\xe2\x80\xa8"
           "c",  // U+2028
           "a.b\xe3\x80\x80"
           "c",             // U+3000
           "a.b;tag=\xff",  // the tags are decoded too
       }) {
    EXPECT_EQ(ParseLine(std::string(path) + " 1 1700000000", kNow, {}, &parsed),
              LineVerdict::kNotUtf8)
        << path;
  }
}

TEST(LineParser, AcceptsUtf8NamesAndRawBytesWhenAllowed) {
  ParsedLine parsed;
  EXPECT_EQ(ParseLine("if.caf\xc3\xa9 1 1700000000", kNow, {}, &parsed),
            LineVerdict::kOk);
  EXPECT_EQ(ParseLine("a.\xf0\x9f\x93\x88.b 1 1700000000", kNow, {}, &parsed),
            LineVerdict::kOk);
  EXPECT_EQ(ParseLine("a.\xe2\x80\x8b 1 1700000000", kNow, {}, &parsed),
            LineVerdict::kOk);  // U+200B is not white space to Python
  LineParserOptions options;
  options.allow_non_utf8 = true;
  ASSERT_EQ(ParseLine("if.eth\xff"
                      "0 1 1700000000",
                      kNow, options, &parsed),
            LineVerdict::kOk);
  EXPECT_EQ(parsed.name,
            "if.eth\xff"
            "0");
  EXPECT_EQ(InvalidReasonName(InvalidReasonIndex(LineVerdict::kNotUtf8)),
            "not_utf8");
}

TEST(LineParser, RejectsNaNByDefault) {
  ParsedLine parsed;
  EXPECT_EQ(ParseLine("a 1 nan", kNow, {}, &parsed), LineVerdict::kTimestamp);
  EXPECT_EQ(ParseLine("a nan 1700000000", kNow, {}, &parsed),
            LineVerdict::kNan);
}

TEST(LineParser, AcceptsNaNWhenAllowed) {
  LineParserOptions options;
  options.allow_nan = true;
  ParsedLine parsed;
  ASSERT_EQ(ParseLine("a nan 1700000000", kNow, options, &parsed),
            LineVerdict::kOk);
  EXPECT_TRUE(std::isnan(parsed.value));
  ASSERT_EQ(ParseLine("a -inf 1700000000", kNow, options, &parsed),
            LineVerdict::kOk);
  EXPECT_TRUE(std::isinf(parsed.value));
}

TEST(LineParser, LineOfExactlyMaxBytesIsAccepted) {
  LineParserOptions options;
  options.max_line_bytes = 20;
  const std::string line = "abcdefg 1 1700000000";  // 20 bytes
  ParsedLine parsed;
  EXPECT_EQ(ParseLine(line, kNow, options, &parsed), LineVerdict::kOk);
  EXPECT_EQ(ParseLine(line + "\r", kNow, options, &parsed), LineVerdict::kOk);
  EXPECT_EQ(ParseLine("abcdefgh 1 1700000000", kNow, options, &parsed),
            LineVerdict::kTooLong);
}

TEST(LineParser, TaggedPathExposesNameWithoutTags) {
  ParsedLine parsed;
  ASSERT_EQ(
      ParseLine("disk.used;host=a;mount=/ 5 1700000000", kNow, {}, &parsed),
      LineVerdict::kOk);
  EXPECT_EQ(parsed.path, "disk.used;host=a;mount=/");
  EXPECT_EQ(parsed.name, "disk.used");
}

std::string Forwarded(std::string_view line) {
  ParsedLine parsed;
  EXPECT_EQ(ParseLine(line, kNow, {}, &parsed), LineVerdict::kOk) << line;
  std::string out;
  std::string_view original = line;
  if (!original.empty() && original.back() == '\r') original.remove_suffix(1);
  AppendForwardLine(parsed, original, &out);
  return out;
}

TEST(LineParser, ForwardsCanonicalLinesUnchangedAndNormalizesTheRest) {
  EXPECT_EQ(Forwarded("a.b 1e3 1700000000"), "a.b 1e3 1700000000\n");
  EXPECT_EQ(Forwarded("a.b\t1   1700000000\r"), "a.b 1 1700000000\n");
  EXPECT_EQ(Forwarded("a.b 1 1700000000.75"), "a.b 1 1700000000\n");
  EXPECT_EQ(Forwarded("a.b 1 -1"), "a.b 1 1800000000\n");
  EXPECT_EQ(Forwarded("x;t=1 2 1700000000"), "x;t=1 2 1700000000\n");
}

TEST(LineParser, ReasonNamesMatchTheMetricLabels) {
  EXPECT_EQ(InvalidReasonName(InvalidReasonIndex(LineVerdict::kFields)),
            "fields");
  EXPECT_EQ(InvalidReasonName(InvalidReasonIndex(LineVerdict::kValue)),
            "value");
  EXPECT_EQ(InvalidReasonName(InvalidReasonIndex(LineVerdict::kTimestamp)),
            "timestamp");
  EXPECT_EQ(InvalidReasonName(InvalidReasonIndex(LineVerdict::kNan)), "nan");
  EXPECT_EQ(InvalidReasonName(InvalidReasonIndex(LineVerdict::kTooLong)),
            "too_long");
  EXPECT_EQ(InvalidReasonName(InvalidReasonIndex(LineVerdict::kPath)), "path");
}

}  // namespace
}  // namespace gralarm
