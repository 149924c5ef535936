#include "gralarm/pickle_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"

namespace gralarm {
namespace {

std::string Hex(std::string_view hex) {
  return absl::HexStringToBytes(std::string(hex));
}

struct Expected {
  std::string path, value, timestamp;
};

// pickle.dumps([(p, (1700000000, 1.5)), (p, (1700000001.5, -2)),
//               ('caf\u00e9.\u4e2d', (1700000002, 10**12))], protocol=N)
// with p = 'srv.a.cpu' (one object: memoized, then fetched with GET), by
// Python 3.11.
const char* const kPythonFrames[] = {
    // protocol 0
    "286c70300a28567372762e612e6370750a70310a2849313730303030303030300a46312e"
    "350a7470320a7470330a612867310a2846313730303030303030312e350a492d320a7470"
    "340a7470350a612856636166e92e5c75346532640a70360a284931373030303030303032"
    "0a4c313030303030303030303030304c0a7470370a7470380a612e",
    // protocol 1
    "5d7100282858090000007372762e612e6370757101284a00f15365473ff8000000000000"
    "747102747103286801284741d954fc406000004afeffffff747104747105285809000000"
    "636166c3a92ee4b8ad7106284a02f153654c313030303030303030303030304c0a747107"
    "747108652e",
    // protocol 2
    "80025d71002858090000007372762e612e63707571014a00f15365473ff8000000000000"
    "86710286710368014741d954fc406000004afeffffff8671048671055809000000636166"
    "c3a92ee4b8ad71064a02f153658a060010a5d4e800867107867108652e",
    // protocol 4
    "80049554000000000000005d94288c097372762e612e637075944a00f15365473ff80000"
    "000000008694869468014741d954fc406000004afeffffff869486948c09636166c3a92e"
    "e4b8ad944a02f153658a060010a5d4e80086948694652e",
    // protocol 5
    "80059554000000000000005d94288c097372762e612e637075944a00f15365473ff80000"
    "000000008694869468014741d954fc406000004afeffffff869486948c09636166c3a92e"
    "e4b8ad944a02f153658a060010a5d4e80086948694652e",
};

TEST(PickleDecoderTest, DecodesPythonFramesOfEveryProtocol) {
  const std::vector<Expected> expected = {
      {"srv.a.cpu", "1.5", "1700000000"},
      {"srv.a.cpu", "-2", "1700000001.500000"},
      {"caf\xc3\xa9.\xe4\xb8\xad", "1000000000000", "1700000002"}};
  int n = 0;
  for (const char* hex : kPythonFrames) {
    SCOPED_TRACE(n++);
    std::string frame = Hex(hex);
    std::vector<PicklePoint> points;
    ASSERT_EQ(DecodePickle(frame, &points), PickleError::kNone);
    ASSERT_EQ(points.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_TRUE(points[i].shape_ok);
      EXPECT_EQ(points[i].path, expected[i].path);
      EXPECT_EQ(points[i].value, expected[i].value);
      EXPECT_EQ(points[i].timestamp, expected[i].timestamp);
    }
  }
}

TEST(PickleDecoderTest, DecodesPython2StringsAndLongs) {
  // Python 2's pickle.dumps([('a.b', (1700000000L, 1.5))], 0) and a
  // SHORT_BINSTRING one, protocol 2.
  std::vector<PicklePoint> points;
  ASSERT_EQ(DecodePickle("(lp0\n(S'a.b'\np1\n(L1700000000L\nF1.5\ntp2\ntp3\na.",
                         &points),
            PickleError::kNone);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].path, "a.b");
  EXPECT_EQ(points[0].timestamp, "1700000000");
  EXPECT_EQ(points[0].value, "1.5");
  points.clear();
  ASSERT_EQ(DecodePickle(Hex("80025d7100285503612e6271014a00f1536547"
                             "3ff800000000000086710286710365"
                             "2e"),
                         &points),
            PickleError::kNone);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].path, "a.b");
  EXPECT_EQ(points[0].value, "1.5");
  points.clear();
  ASSERT_EQ(DecodePickle("(lp0\n(S'x\\x41\\'y'\n(I1\nS'42'\ntta.", &points),
            PickleError::kNone);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].path, "xA'y");
  EXPECT_EQ(points[0].value, "42");  // carbon takes numeric strings too
}

TEST(PickleDecoderTest, ElementsOfTheWrongShapeAreDroppedAlone) {
  // [('a', 1), ('b', (1, 2, 3)), (5, (1, 2)), ('c', (None, 1)), ('d', (1, 2))]
  std::vector<PicklePoint> points;
  ASSERT_EQ(
      DecodePickle("(lp0\n(S'a'\nI1\nta(S'b'\n(I1\nI2\nI3\ntta"
                   "(I5\n(I1\nI2\ntta(S'c'\n(NI1\ntta(S'd'\n(I1\nI2\ntta.",
                   &points),
      PickleError::kNone);
  ASSERT_EQ(points.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(points[i].shape_ok) << i;
  EXPECT_TRUE(points[4].shape_ok);
  EXPECT_EQ(points[4].path, "d");
}

TEST(PickleDecoderTest, RefusesEveryOpcodeThatCallsIntoPython) {
  const std::pair<const char*, std::string> kHostile[] = {
      {"GLOBAL+REDUCE (os.system)", "cos\nsystem\n(S'echo pwned'\ntR."},
      {"STACK_GLOBAL", Hex("80048c026f73948c0673797374656d9493942e")},
      {"INST", "(S'echo'\nios\nsystem\n."},
      {"OBJ", "(NS'x'\no."},
      {"NEWOBJ", Hex("4e29812e")},
      {"BUILD", "]Nb."},
      {"EXT1", Hex("800282012e")},
      {"PERSID", "Pfoo\n."},
      {"BINPERSID", "S'x'\nQ."},
      {"dict", "(dp0\nS'a'\nI1\ns."},
      {"DUP", "(lp0\n2a."},
      {"NEXT_BUFFER", Hex("8005972e")},
      {"unknown byte", "\xff."},
  };
  for (const auto& [what, frame] : kHostile) {
    std::vector<PicklePoint> points;
    EXPECT_EQ(DecodePickle(frame, &points), PickleError::kOpcode) << what;
    EXPECT_TRUE(points.empty()) << what;
  }
}

TEST(PickleDecoderTest, RefusesHugeLengthsDeepNestingAndSelfReference) {
  std::vector<PicklePoint> points;
  // A string "of" 4 GiB, 2^63 and 2^64-1 bytes in a small frame.
  EXPECT_EQ(DecodePickle("X" + Hex("ffffffff") + ".", &points),
            PickleError::kMalformed);
  EXPECT_EQ(DecodePickle(Hex("8d00000000000000802e"), &points),
            PickleError::kMalformed);
  EXPECT_EQ(DecodePickle(Hex("8effffffffffffffff2e"), &points),
            PickleError::kMalformed);
  // An integer of 2^31 bytes, and one past int64.
  EXPECT_EQ(DecodePickle(Hex("8bffffff7f2e"), &points), PickleError::kLimit);
  EXPECT_EQ(DecodePickle(Hex("8a09000000000000000000012e"), &points),
            PickleError::kLimit);
  // Tuples nested 100,000 deep: ")" then TUPLE1 again and again.
  EXPECT_EQ(DecodePickle(")" + std::string(100000, '\x85') + ".", &points),
            PickleError::kLimit);
  // Lists nested through APPEND.
  std::string lists = "]";
  for (int i = 0; i < 100000; ++i) lists += "]";
  for (int i = 0; i < 100000; ++i) lists += "a";
  EXPECT_EQ(DecodePickle(lists + ".", &points), PickleError::kLimit);
  // 300,000 Nones: past the stack limit.
  EXPECT_EQ(DecodePickle(std::string(300000, 'N') + ".", &points),
            PickleError::kLimit);
  // A list appended to itself through the memo.
  EXPECT_EQ(DecodePickle(Hex("5d710068006120") + ".", &points),
            PickleError::kMalformed);
  // A memo index far past the frame, then fetched: nothing huge allocated.
  EXPECT_EQ(DecodePickle(Hex("4e72ffffffff6affffffff2e"), &points),
            PickleError::kMalformed);
  // Stack misuse.
  for (const std::string& bad :
       {std::string("."), std::string("a."), std::string("e."),
        std::string("(."), std::string("t"), std::string("1."),
        std::string("]N\x86\x86.")}) {
    EXPECT_NE(DecodePickle(bad, &points), PickleError::kNone)
        << absl::CHexEscape(bad);
  }
  // Not a list at the end.
  EXPECT_EQ(DecodePickle("I1\n.", &points), PickleError::kMalformed);
  EXPECT_TRUE(points.empty());
}

TEST(PickleDecoderTest, EveryTruncationOfAValidFrameIsRefused) {
  for (const char* hex : kPythonFrames) {
    const std::string frame = Hex(hex);
    for (size_t n = 0; n < frame.size(); ++n) {
      std::vector<PicklePoint> points;
      EXPECT_NE(DecodePickle(frame.substr(0, n), &points), PickleError::kNone)
          << n;
    }
  }
}

TEST(PickleFramerTest, CutsFramesAcrossAnyReadBoundary) {
  std::string stream;
  const std::vector<std::string> frames = {"abc", "", std::string(70000, 'x'),
                                           "z"};
  for (const std::string& f : frames) {
    const uint32_t n = static_cast<uint32_t>(f.size());
    stream += static_cast<char>(n >> 24);
    stream += static_cast<char>(n >> 16);
    stream += static_cast<char>(n >> 8);
    stream += static_cast<char>(n);
    stream += f;
  }
  for (size_t cut : {size_t{1}, size_t{2}, size_t{5}, size_t{4096}}) {
    PickleFramer framer;
    std::vector<std::string> got;
    for (size_t at = 0; at < stream.size(); at += cut) {
      ASSERT_TRUE(
          framer.Feed(stream.data() + at, std::min(cut, stream.size() - at),
                      [&](std::string_view f) { got.emplace_back(f); }));
    }
    EXPECT_EQ(got, frames) << cut;
    EXPECT_EQ(framer.pending(), 0u);
  }
  PickleFramer framer;
  const std::string oversize("\x00\x10\x00\x01", 4);  // 1 MiB + 1
  EXPECT_FALSE(framer.Feed(oversize.data(), oversize.size(),
                           [](std::string_view) { FAIL(); }));
}

}  // namespace
}  // namespace gralarm
