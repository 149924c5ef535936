// graphite-web's /metrics/find and /render, over HttpGet.
#include "gralarm/graphite_web.h"

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "gralarm/http_client.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

using nlohmann::json;

// A JSON 0/1 or boolean flag of a treejson node.
bool Flag(const json& node, const char* key, bool* out) {
  auto it = node.find(key);
  if (it == node.end()) return false;
  if (it->is_boolean()) {
    *out = it->get<bool>();
    return true;
  }
  if (it->is_number_integer() || it->is_number_unsigned()) {
    *out = it->get<int64_t>() != 0;
    return true;
  }
  return false;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "<sign><digits><unit>", one unit graphite's parseTimeOffset knows.
bool IsOffset(std::string_view s) {
  static constexpr std::array<std::string_view, 24> kUnits = {
      "s",       "sec",   "secs", "second", "seconds", "min", "mins", "minute",
      "minutes", "h",     "hour", "hours",  "d",       "day", "days", "w",
      "week",    "weeks", "mon",  "month",  "months",  "y",   "year", "years"};
  if (s.size() < 3 || (s[0] != '-' && s[0] != '+')) return false;
  s.remove_prefix(1);
  size_t digits = 0;
  while (digits < s.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 9) return false;
  const std::string_view unit = s.substr(digits);
  for (std::string_view u : kUnits) {
    if (unit == u) return true;
  }
  return false;
}

// The status of a GET to graphite-web that answered something other than
// 200: graphite-web's own words (its first line) are the useful part. 400 is
// graphite-web refusing what it was asked (an unknown function, a bad
// argument): InvalidArgument; any other status is FailedPrecondition.
absl::Status NotOk(std::string_view what, const HttpClientResponse& r) {
  const std::string said = FirstLine(r.body);
  std::string message = StrCat("graphite-web ", what, " answered HTTP ",
                               r.status, said.empty() ? "" : ": ", said);
  if (r.status == 400) return absl::InvalidArgumentError(std::move(message));
  return absl::FailedPreconditionError(std::move(message));
}

absl::Status Unreachable(const absl::Status& s) {
  return absl::Status(s.code(),
                      StrCat("graphite-web is unreachable: ", s.message()));
}

}  // namespace

GraphiteWebClient::GraphiteWebClient(std::string url, int64_t timeout_ms)
    : url_(std::move(url)), timeout_ms_(timeout_ms) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
}

absl::StatusOr<std::vector<GraphiteNode>> GraphiteWebClient::Find(
    std::string_view query) const {
  HttpClientRequest req;
  req.url =
      StrCat(url_, "/metrics/find?format=treejson&query=", UrlEncode(query));
  req.timeout_ms = timeout_ms_;
  auto r = HttpGet(req);
  if (!r.ok()) return Unreachable(r.status());
  if (r->status != 200) return NotOk("/metrics/find", *r);
  auto nodes = ParseFindAnswer(r->body);
  if (!nodes.ok()) {
    return absl::DataLossError(
        StrCat("graphite-web /metrics/find: ", nodes.status().message()));
  }
  return nodes;
}

absl::StatusOr<std::string> GraphiteWebClient::Render(
    std::string_view target, std::string_view from,
    std::string_view until) const {
  if (!IsGraphiteTime(from)) {
    return absl::InvalidArgumentError(
        StrCat("from \"", FirstLine(from, 40),
               "\" is not a graphite time (now, epoch seconds, -6h, -2d...)"));
  }
  if (!IsGraphiteTime(until)) {
    return absl::InvalidArgumentError(
        StrCat("until \"", FirstLine(until, 40),
               "\" is not a graphite time (now, epoch seconds, -6h, -2d...)"));
  }
  HttpClientRequest req;
  req.url = StrCat(url_, "/render?format=json&target=", UrlEncode(target),
                   "&from=", UrlEncode(from), "&until=", UrlEncode(until));
  req.timeout_ms = timeout_ms_;
  auto r = HttpGet(req);
  if (!r.ok()) return Unreachable(r.status());
  if (r->status != 200) return NotOk("/render", *r);
  if (absl::Status s = CheckRenderAnswer(r->body); !s.ok()) {
    return absl::DataLossError(StrCat("graphite-web /render: ", s.message()));
  }
  return std::move(r->body);
}

absl::StatusOr<std::vector<GraphiteNode>> ParseFindAnswer(
    std::string_view text) {
  const json j = json::parse(text.begin(), text.end(), nullptr,
                             /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::DataLossError(
        StrCat("answer is not JSON: ", FirstLine(text, 80)));
  }
  if (!j.is_array()) {
    return absl::DataLossError("answer is not a JSON list of nodes");
  }
  std::vector<GraphiteNode> nodes;
  nodes.reserve(j.size());
  for (const json& n : j) {
    GraphiteNode node;
    auto id = n.is_object() ? n.find("id") : n.end();
    auto text_it = n.is_object() ? n.find("text") : n.end();
    if (!n.is_object() || id == n.end() || !id->is_string() ||
        text_it == n.end() || !text_it->is_string() ||
        !Flag(n, "leaf", &node.leaf)) {
      return absl::DataLossError(
          StrCat("node ", nodes.size(),
                 " is not {\"id\": string, \"text\": string, \"leaf\": 0|1}"));
    }
    node.id = id->get<std::string>();
    node.text = text_it->get<std::string>();
    if (!Flag(n, "expandable", &node.expandable)) node.expandable = !node.leaf;
    nodes.push_back(std::move(node));
  }
  return nodes;
}

namespace {

// graphite-web writes an infinite value as 1e9999 (or -1e9999), which JSON
// parsers (nlohmann's too) refuse as out of range; browsers read it as
// Infinity. The answer is parsed with each such number (a token between
// '[', ',', ']' or blanks, not text inside a name) read as null.
json ParseRenderJson(std::string_view text) {
  std::string readable(text);
  auto separator = [](char c) {
    return c == '[' || c == ',' || c == ']' || c == ' ' || c == '\t' ||
           c == '\n' || c == '\r';
  };
  for (size_t at = readable.find("1e9999"); at != std::string::npos;
       at = readable.find("1e9999", at + 1)) {
    const size_t start = at > 0 && readable[at - 1] == '-' ? at - 1 : at;
    const size_t end = at + 6;
    if ((start > 0 && !separator(readable[start - 1])) ||
        (end < readable.size() && !separator(readable[end]))) {
      continue;
    }
    readable.replace(start, end - start,
                     end - start == 7 ? "null   " : "null  ");
  }
  return json::parse(readable.begin(), readable.end(), nullptr,
                     /*allow_exceptions=*/false);
}

}  // namespace

absl::Status CheckRenderAnswer(std::string_view text) {
  return ParseRenderAnswer(text).status();
}

absl::StatusOr<std::vector<RenderSeries>> ParseRenderAnswer(
    std::string_view text) {
  const json j = ParseRenderJson(text);
  if (j.is_discarded()) {
    return absl::DataLossError(
        StrCat("answer is not JSON: ", FirstLine(text, 80)));
  }
  if (!j.is_array()) {
    return absl::DataLossError("answer is not a JSON list of series");
  }
  constexpr double kMaxTime = 9007199254740992.0;  // 2^53
  std::vector<RenderSeries> out;
  out.reserve(j.size());
  for (const json& s : j) {
    const size_t i = out.size();
    auto target = s.is_object() ? s.find("target") : s.end();
    auto points = s.is_object() ? s.find("datapoints") : s.end();
    if (!s.is_object() || target == s.end() || !target->is_string() ||
        points == s.end() || !points->is_array()) {
      return absl::DataLossError(StrCat(
          "series ", i, " is not {\"target\": string, \"datapoints\": list}"));
    }
    RenderSeries series;
    series.target = target->get<std::string>();
    for (const json& p : *points) {
      if (!p.is_array() || p.size() != 2 ||
          !(p[0].is_null() || p[0].is_number()) || !p[1].is_number()) {
        return absl::DataLossError(StrCat(
            "series ", i, " has a datapoint that is not [value|null, time]"));
      }
      const double t = p[1].get<double>();
      if (!(t >= 0 && t <= kMaxTime) ||
          t != static_cast<double>(static_cast<int64_t>(t))) {
        return absl::DataLossError(
            StrCat("series ", i,
                   " has a time that is not a whole number of "
                   "seconds since 1970"));
      }
      if (p[0].is_null()) continue;
      const double v = p[0].get<double>();
      if (!std::isfinite(v)) continue;
      series.points.emplace_back(static_cast<int64_t>(t), v);
    }
    out.push_back(std::move(series));
  }
  return out;
}

bool IsGraphiteTime(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  if (s == "now") return true;
  if (AllDigits(s)) return s.size() <= 12;  // epoch seconds
  if (s.starts_with("now")) return IsOffset(s.substr(3));
  return IsOffset(s);
}

}  // namespace gralarm
