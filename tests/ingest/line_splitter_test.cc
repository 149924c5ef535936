#include "gralarm/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gralarm {
namespace {

// Feeds `stream` cut at the given offsets and records what comes out. A line
// the splitter passes on whole is still subject to the parser's length check,
// as in the ingest loop, so over-long lines show as "<too long>" either way.
std::vector<std::string> Split(const std::string& stream,
                               std::vector<size_t> cuts, size_t max_line_bytes,
                               bool clean_eof = true) {
  LineSplitter splitter(max_line_bytes);
  std::vector<std::string> out;
  auto on_line = [&](std::string_view l) {
    std::string_view body = l;
    if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
    out.emplace_back(body.size() > max_line_bytes ? "<too long>"
                                                  : std::string(l));
  };
  auto on_too_long = [&] { out.emplace_back("<too long>"); };
  size_t pos = 0;
  cuts.push_back(stream.size());
  for (size_t cut : cuts) {
    splitter.Feed(stream.data() + pos, cut - pos, on_line, on_too_long);
    pos = cut;
  }
  splitter.Finish(clean_eof, on_line, on_too_long, [&](std::string_view l) {
    out.push_back("<truncated " + std::string(l) + ">");
  });
  return out;
}

TEST(LineSplitter, SameLinesWhereverTheReadsAreCut) {
  const std::string stream = "a.b 1 1700000000\n" + std::string(40, 'x') +
                             " 2 1700000000\r\nc 3 1700000000\n";
  const std::vector<std::string> want = {"a.b 1 1700000000", "<too long>",
                                         "c 3 1700000000"};
  for (size_t i = 0; i <= stream.size(); ++i) {
    for (size_t j = i; j <= stream.size(); j += 7) {
      EXPECT_EQ(Split(stream, {i, j}, 32), want)
          << "cuts at " << i << " and " << j;
    }
  }
}

TEST(LineSplitter, OverLongLineSplitAcrossManyReadsIsReportedOnce) {
  std::string stream =
      "ok 1 1700000000\n" + std::string(1000, 'y') + "\nok 2 1700000000\n";
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); i += 3) cuts.push_back(i);
  EXPECT_EQ(Split(stream, cuts, 64),
            (std::vector<std::string>{"ok 1 1700000000", "<too long>",
                                      "ok 2 1700000000"}));
}

TEST(LineSplitter, BuffersNoMoreThanTheLineLimit) {
  LineSplitter splitter(64);
  std::string junk(10000, 'z');
  int too_long = 0;
  for (int i = 0; i < 100; ++i) {
    splitter.Feed(
        junk.data(), junk.size(), [](std::string_view) {}, [&] { ++too_long; });
    EXPECT_LE(splitter.buffered(), 65u);
  }
  splitter.Feed(
      "\n", 1, [](std::string_view) {}, [&] { ++too_long; });
  EXPECT_EQ(too_long, 1);
}

TEST(LineSplitter, UnterminatedLastLineIsTakenOnCleanCloseOnly) {
  EXPECT_EQ(Split("a 1 1700000000\nb 2 17", {}, 64, /*clean_eof=*/true),
            (std::vector<std::string>{"a 1 1700000000", "b 2 17"}));
  EXPECT_EQ(Split("a 1 1700000000\nb 2 17", {}, 64, /*clean_eof=*/false),
            (std::vector<std::string>{"a 1 1700000000", "<truncated b 2 17>"}));
}

TEST(LineSplitter, OverLongLineAtEndOfStreamIsCounted) {
  EXPECT_EQ(Split(std::string(200, 'q'), {50, 100}, 64),
            (std::vector<std::string>{"<too long>"}));
}

}  // namespace
}  // namespace gralarm
