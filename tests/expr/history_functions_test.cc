// timeShift and holtWinters*: names, values, state and compile errors. The
// Holt-Winters values were produced once by graphite-web 1.1.8's own
// functions (tests/expr/gen_holtwinters_golden.py) and are compared bit for
// bit.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "expr/evaluate_points.h"
#include "expr/program.h"
#include "expr/run_helper.h"
#include "expr/tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gralarm::expr::testing {
namespace {

using ::testing::HasSubstr;

// clang-format off
// BEGIN GOLDEN (tests/expr/gen_holtwinters_golden.py)
const Grid kHwInput = {
    {"a.b", {100.0, 109.16, 109.66, 101.5, 93.34, 93.84, 103.0, 112.16, 112.66, 104.5, 96.34, 96.84, 106.0, 115.16, 115.66, kNa, kNa, kNa, 109.0, 118.16, 118.66, 110.5, 102.34, 102.84, 112.0, 121.16, 121.66, 113.5, 105.34, 105.84, 175.0, 124.16, 124.66, 116.5, 108.34, 108.84, 118.0, 127.16, 127.66, 119.5, 111.34, kNa, 121.0, 130.16, 130.66, 122.5, 114.34, 114.84}},
    {"a.c", {kNa, kNa, kNa, kNa, kNa, 40.0, 6.0, 14.0, 22.0, 30.0, 38.0, 46.0, 12.0, 20.0, 28.0, 36.0, 44.0, 52.0, 18.0, 26.0, kNa, 42.0, 50.0, 58.0, 24.0, 32.0, 40.0, 48.0, 56.0, 64.0, 30.0, 38.0, 46.0, 54.0, 62.0, 70.0, 36.0, 44.0, 52.0, 60.0, 68.0, 76.0, 42.0, 50.0, 58.0, 66.0, 74.0, 82.0}},
};
const Out kHwForecast = {
    {"holtWintersForecast(a.b)", {102.04208221259731, 103.99481567786694, 105.03539643554632, 104.54479947918088, kNa, kNa, kNa, 111.74317138824057, 112.2509392538411, 110.22810568155039, 110.25966730035466, 109.4693008737234, 109.35694788574146, 112.45164125638858, 113.18908221648219, 110.82203020860857, 110.35974179460517, 109.97929883646322, 110.95512726135627, 120.76204036853281, 120.97137316876348, 117.62735438229693, 116.1130352806508, 115.55683495988274, 122.43091519629593, 119.92749078665786, 120.54324414173416, 117.1066053425909, 115.34548752006579, 115.26165630194383, kNa, 125.50437773532198, 125.82713998325808, 121.71132511802385, 119.18759029619984, 120.92719143582212}},
    {"holtWintersForecast(a.c)", {31.426405712072132, 30.48517054014108, 30.332393500864082, 30.901958034025682, 32.1331510797008, 33.970236389259064, 29.797459824262102, 30.42746327730696, 31.619959966111406, kNa, 43.524417784501814, 45.40345486178144, 38.02742082997829, 39.12146187492182, 41.78359049258533, 41.771188456701, 44.35313883280853, 47.30282937893025, 37.94477508782143, 40.2748200684924, 43.909920671398076, 45.01525696548841, 48.37064469751581, 51.984026121611464, 40.551452237170004, 43.74368831237915, 48.038191790482685, 49.96532456515279, 53.85819197662777, 57.93226503839243, 44.48846772200052, 48.335091856666025, 53.119833530779296, 55.701565470558066, 60.00674832900152, 64.4355447897884}},
};
const Out kHwBands = {
    {"holtWintersConfidenceLower(a.b)", {100.10588187251805, 95.49528359085329, 96.94860975404936, 104.54479947918088, kNa, kNa, kNa, 102.16854392640046, 103.05011301664616, 110.14653738601551, 107.88376711024827, 107.48051061160638, 77.56570997599971, 101.22196891764906, 102.36706326795141, 109.94522780520974, 106.71550908512786, 106.94759794961894, 63.129551320995574, 109.63594737422709, 110.12496806571482, 116.5000259045489, 110.50131525792598, 110.81325367375807, 78.05862229108251, 107.74425432778006, 108.64645279151063, 115.37399131539495, 109.09329324359372, 115.26165630194383, kNa, 113.14277824292856, 113.67016976303432, 119.91537002895465, 112.10633835851503, 119.10103400507549}},
    {"holtWintersConfidenceUpper(a.b)", {103.97828255267656, 112.49434776488059, 113.12218311704328, 104.54479947918088, kNa, kNa, kNa, 121.31779885008068, 121.45176549103603, 110.30967397708527, 112.63556749046106, 111.45809113584042, 141.14818579548322, 123.6813135951281, 124.01110116501297, 111.6988326120074, 114.00397450408248, 113.01099972330749, 158.78070320171696, 131.88813336283854, 131.81777827181213, 118.75468286004495, 121.72475530337563, 120.3004162460074, 166.80320810150934, 132.11072724553566, 132.4400354919577, 118.83921936978685, 121.59768179653786, 115.26165630194383, kNa, 137.8659772277154, 137.98411020348183, 123.50728020709305, 126.26884223388466, 122.75334886656876}},
    {"holtWintersConfidenceLower(a.c)", {16.41848399845049, 21.240832378098755, 26.309114726054858, 28.547851613841978, 27.148521386419084, 15.39288892727581, 12.751092334723996, 20.77931994827678, 31.619959966111406, kNa, 37.09557639589881, 24.904878604530943, 18.477463840400507, 28.301694316318112, 41.24851334480973, 26.655718793362496, 35.07312323290839, 23.844959561083876, 17.966381270854995, 29.854583245201344, 42.80132743981946, 28.715911358130285, 35.92982406686042, 25.467151122033165, 21.20546213074921, 34.28858166513094, 45.85191541920673, 32.28551088807632, 38.41891100202625, 28.64675705028969, 26.330536309621653, 39.326023431142445, 49.68813485586473, 36.70020280235666, 41.9134199505606, 32.809251037432446}},
    {"holtWintersConfidenceUpper(a.c)", {46.43432742569377, 39.72950870218341, 34.35567227567331, 33.25606445420939, 37.11778077298252, 52.54758385124232, 46.843827313800205, 40.07560660633714, 31.619959966111406, kNa, 49.95325917310482, 65.90203111903193, 57.57737781955608, 49.94122943352553, 42.318667640360935, 56.8866581200395, 53.63315443270868, 70.76069919677661, 57.92316890478786, 50.695056891783466, 45.01851390297669, 61.31460257284654, 60.811465328171195, 78.50090112118977, 59.8974423435908, 53.19879495962736, 50.22446816175864, 67.64513824222927, 69.2974729512293, 87.21777302649517, 62.646399134379394, 57.344160282189605, 56.55153220569386, 74.70292813875948, 78.10007670744244, 96.06183854214434}},
};
const Out kHwBands2 = {
    {"holtWintersConfidenceLower(a.b)", {100.75128198587781, 98.32846095319118, 99.64420531454834, 104.54479947918088, kNa, kNa, kNa, 105.36008641368049, 106.11705509571114, 110.17372681786047, 108.67573384028373, 108.14344069897872, 88.16278927924697, 104.96519303056223, 105.97440291746167, 110.23749527300934, 107.9302533216203, 107.95816491190035, 79.07140996778247, 113.34464503899565, 113.7404364333977, 116.87580206379825, 112.37188859883426, 112.39444743579962, 92.84938659282032, 111.80533314740599, 112.6120499082518, 115.95152932446027, 111.17735800241773, 115.26165630194383, kNa, 117.2633114070597, 117.72249316977557, 120.51402172531105, 114.46675567107663, 119.7097531486577}},
    {"holtWintersConfidenceUpper(a.b)", {103.3328824393168, 109.6611704025427, 110.42658755654429, 104.54479947918088, kNa, kNa, kNa, 118.12625636280065, 118.38482341197106, 110.28248454524031, 111.8436007604256, 110.79516104846807, 130.55110649223596, 119.93808948221493, 120.40376151550271, 111.40656514420779, 112.78923026759004, 112.00043276102608, 142.83884455493006, 128.17943569806997, 128.20230990412924, 118.37890670079561, 119.85418196246735, 118.71922248396585, 152.01244379977152, 128.0496484259097, 128.47443837521652, 118.26168136072152, 119.51361703771384, 115.26165630194383, kNa, 133.74544406358427, 133.9317867967406, 122.90862851073665, 123.90842492132306, 122.14462972298655}},
    {"holtWintersConfidenceLower(a.c)", {21.421124569657707, 24.322278432112864, 27.650207650991266, 29.332553753903213, 28.81006461751299, 21.58533808127023, 18.433214831236697, 23.995367724620174, 31.619959966111406, kNa, 39.238523525433145, 31.737737356947775, 24.994116170259765, 31.908283502519346, 41.42687239406827, 31.694208681141994, 38.166461766208435, 31.664249500365997, 24.62584587651047, 33.3279955196317, 43.170858517012334, 34.149026560582996, 40.07676427707888, 34.306109455225936, 27.654125499556145, 37.440283880880344, 46.58067420963205, 38.17878211376847, 43.56533799356009, 38.40859304632394, 32.38318011374794, 42.3290462396503, 50.832034414169584, 43.03399035842379, 47.94452941004091, 43.35134895488443}},
    {"holtWintersConfidenceUpper(a.c)", {41.43168685448656, 36.6480626481693, 33.0145793507369, 32.47136231414815, 35.45623754188861, 46.3551346972479, 41.16170481728751, 36.859558829993745, 31.619959966111406, kNa, 47.810312043570484, 59.069172366615106, 51.060725489696814, 46.334640247324295, 42.1403085911024, 51.84816823226, 50.53981589940863, 62.9414092574945, 51.263704299132385, 47.22164461735311, 44.64898282578382, 55.88148737039383, 56.664525117952735, 69.66194278799699, 53.44877897478386, 50.047092743877954, 49.49570937133332, 61.75186701653711, 64.15104595969545, 77.45593703046092, 56.5937553302531, 54.34113747368175, 55.40763264738901, 68.36914058269234, 72.06896724796212, 85.51974062469236}},
};
const Out kHwAberration = {
    {"holtWintersAberration(a.b)", {2.0217174473234394, 2.66565223511941, 2.5378168829567187, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1903260229147321, -5.543767110248268, -4.6405106116063735, 0.0, 0.0, 0.0, 1.8011673879926065, -1.3755090851278595, -1.1075979496189348, 16.21929679828304, 0.0, 0.0, -2.5904548905941738e-05, -2.1613152579259776, -1.973253673758066, 0.0, 0.0, 0.0, 0.6607806302131536, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -4.261034005075487}},
    {"holtWintersAberration(a.c)", {-4.4184839984504904, -1.2408323780987551, 0.0, 2.743935545790613, 6.88221922701748, 0.0, 0.0, 0.0, 0.0, 0.0, 0.04674082689518144, 0.0, 0.0, 0.0, -1.24851334480973, 0.0, 2.366845567291321, 0.0, 0.0, 0.0, 0.981486097023307, 0.0, 1.1885346718288048, 0.0, 0.0, 0.0, 1.7755318382413634, 0.0, 0.0, 0.0, 0.0, 0.0, 1.44846779430614, 0.0, 0.0, 0.0}},
};
// END GOLDEN
// clang-format on

// graphite's render starts after the bootstrap interval (12 steps of 10 s).
constexpr size_t kBootSteps = 12;

// Bit-for-bit equality (None matching None).
void ExpectExact(const std::vector<double>& actual,
                 const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << " step " << i;
    } else {
      EXPECT_EQ(actual[i], expected[i]) << what << " step " << i;
    }
  }
}

Node Hw(const std::string& fn, std::vector<Node> extra = {}) {
  std::vector<Node> args = {Path("a.*")};
  for (Node& n : extra) args.push_back(std::move(n));
  return Call(fn, std::move(args));
}

// Runs `target` over kHwInput from its first step and compares the steps
// after the bootstrap with graphite's render.
void ExpectGolden(const Node& target, const Out& golden) {
  std::string error;
  Out out = RunGrid(target, kHwInput, 10, &error);
  ASSERT_EQ(out.size(), golden.size()) << error;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].first, golden[i].first);
    ASSERT_GT(out[i].second.size(), kBootSteps);
    std::vector<double> rendered(out[i].second.begin() + kBootSteps,
                                 out[i].second.end());
    ExpectExact(rendered, golden[i].second, golden[i].first);
  }
}

TEST(HoltWinters, ForecastMatchesGraphite) {
  ExpectGolden(Hw("holtWintersForecast", {Str("2min"), Str("1min")}),
               kHwForecast);
}

TEST(HoltWinters, ConfidenceBandsMatchGraphite) {
  ExpectGolden(
      Hw("holtWintersConfidenceBands", {Int(3), Str("2min"), Str("1min")}),
      kHwBands);
  ExpectGolden(Call("holtWintersConfidenceBands", {Path("a.*")},
                    {{"delta", Int(2)},
                     {"bootstrapInterval", Str("2min")},
                     {"seasonality", Str("1min")}}),
               kHwBands2);
}

TEST(HoltWinters, AberrationMatchesGraphite) {
  ExpectGolden(Hw("holtWintersAberration", {Int(3), Str("2min"), Str("1min")}),
               kHwAberration);
}

TEST(HoltWinters, EvaluatePointsStartsTheRecursionAtTheFirstPoint) {
  std::vector<InputPoint> points;
  const int64_t t0 = 1'700'000'000 - 1'700'000'000 % 60;
  for (const auto& [name, values] : kHwInput) {
    for (size_t k = 0; k < values.size(); ++k) {
      if (std::isnan(values[k])) continue;
      // Off the step start: the grid keeps the point in its step.
      points.push_back(
          {name, values[k], t0 + static_cast<int64_t>(k) * 10 + 3});
    }
  }
  auto out = EvaluatePoints(
      Hw("holtWintersForecast", {Str("2min"), Str("1min")}), 10, points);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*out)[i].name, kHwForecast[i].first);
    std::vector<double> got;
    for (size_t k = kBootSteps; k < (*out)[i].datapoints.size(); ++k) {
      const auto& [v, ts] = (*out)[i].datapoints[k];
      EXPECT_EQ(ts, t0 + static_cast<int64_t>(k) * 10);
      got.push_back(v ? *v : kNa);
    }
    ExpectExact(got, kHwForecast[i].second, kHwForecast[i].first);
  }
}

TEST(HoltWinters, MissingValues) {
  // The first step seeds the prediction with the value; a missing value
  // reports the pending prediction once, then None until a value comes; the
  // aberration of a missing value is 0.
  Out out = RunGrid(
      Call("holtWintersForecast", {Path("x")}, {{"seasonality", Str("20s")}}),
      {{"x", {5, kNa, kNa, 7}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "holtWintersForecast(x)");
  // i=0: intercept 5, slope 0, next = 5 + 0 + 0.
  ExpectExact(out[0].second, {5, 5, kNa, kNa}, "forecast");
  out = RunGrid(
      Call("holtWintersAberration", {Path("x")}, {{"seasonality", Str("20s")}}),
      {{"x", {kNa, 5, kNa, 7}}});
  ASSERT_EQ(out.size(), 1u);
  ExpectExact(out[0].second, {0, 0, 0, 0}, "aberration");
  // A series whose first value comes after the first step has no prediction
  // at that value (graphite's i > 0 with intercepts[-1] None).
  out = RunGrid(
      Call("holtWintersForecast", {Path("x")}, {{"seasonality", Str("20s")}}),
      {{"x", {kNa, 5, 6}}});
  ASSERT_EQ(out.size(), 1u);
  ExpectExact(out[0].second, {kNa, kNa, 5}, "late series");
}

TEST(HoltWinters, NamesOrderAndSteps) {
  auto p = Program::Compile(
      Call("holtWintersConfidenceBands", {Call("scale", {Path("a.*"), Int(2)})},
           {{"seasonality", Str("1h")}}),
      60);
  ASSERT_TRUE(p.ok()) << p.status();
  (*p)->Slot("a.y");
  (*p)->Slot("a.x");
  auto out = (*p)->Evaluate(0);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ((*out)->size(), 4u);
  EXPECT_EQ((**out)[0].name, "holtWintersConfidenceLower(scale(a.x,2))");
  EXPECT_EQ((**out)[1].name, "holtWintersConfidenceUpper(scale(a.x,2))");
  EXPECT_EQ((**out)[2].name, "holtWintersConfidenceLower(scale(a.y,2))");
  EXPECT_EQ((**out)[3].name, "holtWintersConfidenceUpper(scale(a.y,2))");
  // The bands keep the series' path expression (graphite sets it).
  EXPECT_EQ((**out)[0].path_expression, "scale(a.x,2)");
  EXPECT_NE((**out)[0].key, (**out)[1].key);
  // Default bootstrap 7d = 10,080 steps of 60 s; a 1h season = 60 slots.
  EXPECT_EQ((*p)->history_steps(), 10'080);
  EXPECT_EQ((*p)->lookback_steps(), 60);

  auto f = Program::Compile(
      Call("holtWintersForecast", {Call("delay", {Path("a"), Int(3)})}), 60);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->history_steps(), 10'080 + 3);
  EXPECT_EQ((*f)->lookback_steps(), 1'440 + 3);  // 1d at 60 s
  // Outside graphite: the forecast is a new series named by itself.
  auto agg = Program::Compile(
      Call("sumSeries", {Call("holtWintersAberration", {Path("a.*")})}), 60);
  ASSERT_TRUE(agg.ok());
  (*agg)->Slot("a.x");
  out = (*agg)->Evaluate(0);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ((*out)->size(), 1u);
  EXPECT_EQ((**out)[0].name, "sumSeries(holtWintersAberration(a.x))");
}

// Runs `values` of series "c.x" through `target` (step 10), re-creating the
// program from its encoded state before step `restart_at`.
std::vector<std::vector<double>> RunWithRestart(
    const Node& target, const std::vector<double>& values, size_t restart_at) {
  auto compile = [&] {
    auto p = Program::Compile(target, 10);
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  };
  auto p = compile();
  std::vector<std::vector<double>> got;
  for (size_t k = 0; k < values.size(); ++k) {
    if (k == restart_at) {
      const std::string state = p->EncodeState();
      p = compile();
      const absl::Status s = p->DecodeState(state);
      EXPECT_TRUE(s.ok()) << s;
    }
    const int32_t slot = p->Slot("c.x");
    if (!std::isnan(values[k])) p->Set(slot, values[k]);
    auto out = p->Evaluate(static_cast<int64_t>(k) * 10);
    EXPECT_TRUE(out.ok());
    std::vector<double> row;
    for (const Series& s : **out) row.push_back(s.value.ok ? s.value.v : kNa);
    got.push_back(row);
  }
  return got;
}

TEST(HistoryFunctions, StateRoundTripMidSeasonContinuesIdentically) {
  std::vector<double> values;
  for (int i = 0; i < 40; ++i) {
    values.push_back(i == 13 || i == 14 ? kNa : 50 + (i % 5) * 3.25 + i * 0.1);
  }
  for (const Node& target :
       {Call("timeShift", {Path("c.*"), Str("30s")}),
        Call("holtWintersForecast", {Path("c.*"), Str("1min"), Str("50s")}),
        Call("holtWintersConfidenceBands",
             {Path("c.*"), Int(3), Str("1min"), Str("50s")}),
        Call("holtWintersAberration",
             {Path("c.*"), Int(1), Str("1min"), Str("50s")}),
        Call("holtWintersForecast",
             {Call("timeShift", {Path("c.*"), Str("20s")}), Str("0s"),
              Str("40s")})}) {
    const auto straight = RunWithRestart(target, values, 999);
    for (size_t restart : {1u, 2u, 7u, 13u, 22u, 33u}) {
      const auto resumed = RunWithRestart(target, values, restart);
      ASSERT_EQ(resumed.size(), straight.size());
      for (size_t k = 0; k < straight.size(); ++k) {
        ExpectExact(resumed[k], straight[k],
                    target.text + " restarted at " + std::to_string(restart) +
                        ", step " + std::to_string(k));
      }
    }
  }
}

TEST(HistoryFunctions, DecodeRefusesAnotherSeason) {
  auto a = Program::Compile(
      Call("holtWintersForecast", {Path("c.*"), Str("0s"), Str("1min")}), 10);
  auto b = Program::Compile(
      Call("holtWintersForecast", {Path("c.*"), Str("0s"), Str("2min")}), 10);
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->Set((*a)->Slot("c.x"), 1);
  ASSERT_TRUE((*a)->Evaluate(0).ok());
  const absl::Status s = (*b)->DecodeState((*a)->EncodeState());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

TEST(TimeShift, NamesAndPathExpression) {
  const Grid one = {{"a.b", {1}}};
  EXPECT_EQ(RunGrid(Call("timeShift", {Path("a.b"), Str("7d")}), one)[0].first,
            "timeShift(a.b, \"-7d\")");
  EXPECT_EQ(RunGrid(Call("timeShift", {Path("a.b"), Str("-1h")}), one)[0].first,
            "timeShift(a.b, \"-1h\")");
  EXPECT_EQ(RunGrid(Call("timeShift", {Path("a.b"), Str("+0s")}), one)[0].first,
            "timeShift(a.b, \"+0s\")");
  // graphite only renames the shifted series: an aggregate names its path.
  Out out =
      RunGrid(Call("sumSeries", {Call("timeShift", {Path("a.*"), Str("10s")})}),
              {{"a.b", {1, 2}}, {"a.c", {3, 4}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "sumSeries(a.*)");
  ExpectValues(out[0].second, {kNa, 4});
}

TEST(TimeShift, ValuesAndRingWrap) {
  const Grid g = {{"a.b", {1, 2, kNa, 4, 5, 6, 7, 8, 9}}};
  Out out = RunGrid(Call("timeShift", {Path("a.b"), Str("20s")}), g);
  ASSERT_EQ(out.size(), 1u);
  ExpectExact(out[0].second, {kNa, kNa, 1, 2, kNa, 4, 5, 6, 7}, "20s");
  // A shift that is not a multiple of the step is rounded up to steps.
  out = RunGrid(Call("timeShift", {Path("a.b"), Str("21s")}), g);
  ExpectExact(out[0].second, {kNa, kNa, kNa, 1, 2, kNa, 4, 5, 6}, "21s");
  out = RunGrid(Call("timeShift", {Path("a.b"), Str("0s"), Bool(false)}), g);
  ExpectExact(out[0].second, {1, 2, kNa, 4, 5, 6, 7, 8, 9}, "0s");
  out = RunGrid(
      Call("timeShift", {Path("a.b"), Str("10s")}, {{"alignDST", Bool(false)}}),
      g);
  ExpectExact(out[0].second, {kNa, 1, 2, kNa, 4, 5, 6, 7, 8}, "10s");

  auto p = Program::Compile(
      Call("timeShift", {Call("delay", {Path("a"), Int(2)}), Str("1min")}), 10);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->history_steps(), 8);
  EXPECT_EQ((*p)->lookback_steps(), 8);
}

TEST(TimeShift, LongGapForgetsTheRing) {
  auto p = Program::Compile(Call("timeShift", {Path("a"), Str("20s")}), 10);
  ASSERT_TRUE(p.ok());
  const int32_t slot = (*p)->Slot("a");
  (*p)->Set(slot, 1);
  ASSERT_TRUE((*p)->Evaluate(0).ok());
  (*p)->Set(slot, 2);
  auto out = (*p)->Evaluate(1000);  // 99 steps skipped
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE((**out)[0].value.ok);
  (*p)->Set(slot, 3);
  ASSERT_TRUE((*p)->Evaluate(1010).ok());
  out = (*p)->Evaluate(1020);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((**out)[0].value.ok);
  EXPECT_EQ((**out)[0].value.v, 2);
}

std::string CompileError(const Node& target, int64_t step_s = 10) {
  auto p = Program::Compile(target, step_s);
  return p.ok() ? "OK" : std::string(p.status().message());
}

TEST(HistoryFunctions, CompileErrors) {
  EXPECT_THAT(CompileError(Call("timeShift", {Path("a"), Str("+1h")})),
              HasSubstr("shifts forward in time: a rule's stream cannot see "
                        "the future"));
  EXPECT_THAT(CompileError(Call("timeShift", {Path("a"), Str("")})),
              HasSubstr("the shift is empty"));
  EXPECT_THAT(CompileError(Call("timeShift", {Path("a"), Str("1x")})),
              HasSubstr("unknown unit 'x'"));
  EXPECT_THAT(CompileError(Call("timeShift", {Path("a"), Int(3)})),
              HasSubstr("must be a time string"));
  EXPECT_THAT(CompileError(Call("timeShift", {Path("a"), Str("1d")},
                                {{"alignDST", Bool(true)}})),
              HasSubstr("alignDST=true is not supported"));
  EXPECT_THAT(
      CompileError(Call("timeShift", {Path("a"), Str("1d"), Str("yes")})),
      HasSubstr("resetEnd must be true or false"));
  EXPECT_THAT(CompileError(Call("timeShift", {Path("a"), Str("7d")}), 1),
              HasSubstr("604800 steps, more than the 100000 allowed"));
  EXPECT_EQ(CompileError(Call("timeShift", {Path("a"), Str("1d")}), 1), "OK");

  // A 1-day season at 1 s is 86,400 slots: allowed; 7 days is not.
  EXPECT_EQ(
      CompileError(
          Call("holtWintersForecast", {Path("a"), Str("1d"), Str("1d")}), 1),
      "OK");
  EXPECT_THAT(
      CompileError(
          Call("holtWintersForecast", {Path("a"), Str("1d"), Str("7d")}), 1),
      HasSubstr("seasonality '7d' at step 1 s is 604800 slots, more "
                "than the 100000 allowed"));
  EXPECT_THAT(CompileError(Call("holtWintersAberration", {Path("a")},
                                {{"seasonality", Str("10s")}})),
              HasSubstr("fewer than 2 steps"));
  EXPECT_THAT(
      CompileError(Call("holtWintersForecast", {Path("a"), Str("-1d")})),
      HasSubstr("bootstrapInterval '-1d' is negative"));
  EXPECT_THAT(
      CompileError(Call("holtWintersConfidenceBands", {Path("a"), Str("3")})),
      HasSubstr("delta must be a number"));
  EXPECT_THAT(CompileError(Call("holtWintersForecast", {Path("a"), Int(7)})),
              HasSubstr("bootstrapInterval must be a time string"));
  EXPECT_THAT(CompileError(Call("holtWintersForecast", {Path("a")},
                                {{"delta", Int(3)}})),
              HasSubstr("no argument named 'delta'"));
  EXPECT_THAT(CompileError(Call("holtWintersConfidenceArea", {Path("a")})),
              HasSubstr("not supported in rules"));
}

}  // namespace
}  // namespace gralarm::expr::testing
