#include "store/records.h"

#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "gralarm/strings.h"
#include "store/coding.h"

namespace gralarm::records {
namespace {

using coding::Reader;
using nlohmann::json;

// The first byte of a value, by encoding (docs/STORAGE.md "Values").
enum class Form { kCurrent, kLegacyJson, kLegacyCbor, kUnknown };

Form FormOf(std::string_view in) {
  if (in.empty()) return Form::kUnknown;
  const uint8_t first = static_cast<uint8_t>(in[0]);
  if (first == kRecordVersion) return Form::kCurrent;
  if (first == '{') return Form::kLegacyJson;
  // CBOR major type 5 (a map): 0xa0..0xbb, or 0xbf (indefinite length).
  if ((first >= 0xa0 && first <= 0xbb) || first == 0xbf)
    return Form::kLegacyCbor;
  return Form::kUnknown;
}

absl::Status Corrupt(std::string_view what, std::string_view why) {
  return absl::DataLossError(StrCat(what, " record: ", why));
}

absl::Status UnknownVersion(std::string_view what, std::string_view in) {
  if (in.empty()) return Corrupt(what, "empty");
  return Corrupt(what, StrCat("unknown version ",
                              static_cast<int>(static_cast<uint8_t>(in[0]))));
}

// ---- Version 1: explicit fields ------------------------------------------

void PutLevel(std::string* out, Level l) {
  coding::PutFixed8(out, static_cast<uint8_t>(l));
}

bool GetLevel(Reader* r, Level* l) {
  uint8_t v;
  if (!r->GetFixed8(&v) || v >= kNumLevels) return false;
  *l = static_cast<Level>(v);
  return true;
}

void PutLabels(std::string* out, const std::map<std::string, std::string>& m) {
  coding::PutVarint32(out, static_cast<uint32_t>(m.size()));
  for (const auto& [k, v] : m) {
    coding::PutLengthPrefixed(out, k);
    coding::PutLengthPrefixed(out, v);
  }
}

bool GetLabels(Reader* r, std::map<std::string, std::string>* m) {
  uint32_t n;
  if (!r->GetVarint32(&n)) return false;
  m->clear();
  for (uint32_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!r->GetString(&k) || !r->GetString(&v)) return false;
    (*m)[std::move(k)] = std::move(v);
  }
  return true;
}

// Flags bytes: a set bit not defined for the record makes it corrupt.
constexpr uint8_t kAlertNodata = 1, kAlertSilenced = 2, kAlertHeld = 4,
                  kAlertFlapping = 8, kAlertGeneratorUrl = 16;
constexpr uint8_t kHistoryNodata = 1;
constexpr uint8_t kOutboxReminder = 1;  // outbox flags

// Everything of an alert after its version byte.
void PutAlertBody(std::string* out, const AlertRecord& a) {
  coding::PutFixed8(
      out, (a.nodata ? kAlertNodata : 0) | (a.silenced ? kAlertSilenced : 0) |
               (a.held ? kAlertHeld : 0) | (a.flapping ? kAlertFlapping : 0) |
               (a.generator_url.empty() ? 0 : kAlertGeneratorUrl));
  PutLevel(out, a.severity);
  PutLevel(out, a.peak);
  coding::PutDouble(out, a.value);
  coding::PutInt64(out, a.since_ms);
  coding::PutDouble(out, a.last_value);
  coding::PutInt64(out, a.last_seen_ms);
  coding::PutInt64(out, a.notified_ms);
  coding::PutLengthPrefixed(out, a.rule_id);
  coding::PutLengthPrefixed(out, a.rule_name);
  coding::PutLengthPrefixed(out, a.series);
  PutLabels(out, a.labels);
  if (!a.generator_url.empty()) coding::PutLengthPrefixed(out, a.generator_url);
}

bool GetAlertBody(Reader* r, AlertRecord* a) {
  uint8_t flags;
  if (!r->GetFixed8(&flags) ||
      (flags & ~(kAlertNodata | kAlertSilenced | kAlertHeld | kAlertFlapping |
                 kAlertGeneratorUrl)) != 0) {
    return false;
  }
  a->nodata = flags & kAlertNodata;
  a->silenced = flags & kAlertSilenced;
  a->held = flags & kAlertHeld;
  a->flapping = flags & kAlertFlapping;
  return GetLevel(r, &a->severity) && GetLevel(r, &a->peak) &&
         r->GetDouble(&a->value) && r->GetInt64(&a->since_ms) &&
         r->GetDouble(&a->last_value) && r->GetInt64(&a->last_seen_ms) &&
         r->GetInt64(&a->notified_ms) && r->GetString(&a->rule_id) &&
         r->GetString(&a->rule_name) && r->GetString(&a->series) &&
         GetLabels(r, &a->labels) &&
         ((flags & kAlertGeneratorUrl) == 0 ||
          (r->GetString(&a->generator_url) && !a->generator_url.empty()));
}

// The forecast that versions 2 of alerts and events add after the fields of
// version 1: a flags byte (bit 0: set), then the double when set.
constexpr uint8_t kForecastSet = 1;

void PutForecast(std::string* out, const std::optional<double>& f) {
  coding::PutFixed8(out, f ? kForecastSet : 0);
  if (f) coding::PutDouble(out, *f);
}

bool GetForecast(Reader* r, std::optional<double>* f) {
  uint8_t flags;
  if (!r->GetFixed8(&flags) || (flags & ~kForecastSet) != 0) return false;
  f->reset();
  if (!(flags & kForecastSet)) return true;
  double v;
  if (!r->GetDouble(&v)) return false;
  *f = v;
  return true;
}

// Reads a version-1 value with `body`, which must consume all of it.
template <typename T, typename Body>
absl::Status DecodeV1(std::string_view what, std::string_view in, T* out,
                      Body body) {
  Reader r(in.substr(1));
  T record;
  if (!body(&r, &record)) return Corrupt(what, "truncated or malformed");
  if (r.remaining() != 0) return Corrupt(what, "trailing bytes");
  *out = std::move(record);
  return absl::OkStatus();
}

// ---- Earlier releases: a JSON object, as JSON text or CBOR ---------------

json ParseLegacy(std::string_view in, Form form) {
  if (form == Form::kLegacyJson) {
    return json::parse(in.begin(), in.end(), nullptr,
                       /*allow_exceptions=*/false);
  }
  return json::from_cbor(in.begin(), in.end(), /*strict=*/true,
                         /*allow_exceptions=*/false);
}

Level LevelOf(const json& j) {
  Level l = Level::kOk;
  if (j.is_string()) ParseLevel(j.get<std::string>(), &l);
  return l;
}

// An integer field of a legacy JSON record: `def` when absent; a value that
// is no integer of T's range (a fraction, 1e58, a string...) throws, and the
// record is then reported corrupt (converting such a double would be
// undefined behaviour).
template <typename T>
T IntField(const json& j, const char* key, T def) {
  auto it = j.find(key);
  if (it == j.end()) return def;
  constexpr T kMin = std::numeric_limits<T>::min();
  constexpr T kMax = std::numeric_limits<T>::max();
  bool ok = false;
  if (it->is_number_unsigned()) {
    ok = it->get<uint64_t>() <= static_cast<uint64_t>(kMax);
  } else if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    ok = v >= 0 ? static_cast<uint64_t>(v) <= static_cast<uint64_t>(kMax)
                : std::is_signed_v<T> && v >= static_cast<int64_t>(kMin);
  } else if (it->is_number_float()) {
    const double v = it->get<double>();
    // T's values are those below 2^digits (an exact double).
    ok = std::isfinite(v) && v == std::trunc(v) &&
         v >= static_cast<double>(kMin) &&
         v < std::ldexp(1.0, std::numeric_limits<T>::digits);
    if (ok) return static_cast<T>(v);
  }
  if (!ok) {
    throw std::out_of_range(
        StrCat(key, " is not an integer in range: ", it->dump()));
  }
  return it->get<T>();
}

AlertRecord AlertFromJson(const json& j) {
  AlertRecord a;
  a.rule_id = j.value("rule_id", "");
  a.rule_name = j.value("rule_name", "");
  a.series = j.value("series", "");
  a.severity = LevelOf(j.value("severity", json("ok")));
  a.peak = LevelOf(j.value("peak", json("ok")));
  a.nodata = j.value("nodata", false);
  a.value = j.value("value", 0.0);
  a.since_ms = IntField<int64_t>(j, "since_ms", 0);
  a.last_value = j.value("last_value", 0.0);
  a.last_seen_ms = IntField<int64_t>(j, "last_seen_ms", 0);
  a.labels = j.value("labels", std::map<std::string, std::string>{});
  a.silenced = j.value("silenced", false);
  a.held = j.value("held", false);
  a.flapping = j.value("flapping", false);
  a.notified_ms = IntField<int64_t>(j, "notified_ms", 0);
  return a;
}

HistoryRecord HistoryFromJson(const json& j) {
  HistoryRecord h;
  h.rule_id = j.value("rule_id", "");
  h.rule_name = j.value("rule_name", "");
  h.series = j.value("series", "");
  h.peak = LevelOf(j.value("peak", json("ok")));
  h.severity = LevelOf(j.value("severity", json("ok")));
  h.nodata = j.value("nodata", false);
  h.start_ms = IntField<int64_t>(j, "start_ms", 0);
  h.end_ms = IntField<int64_t>(j, "end_ms", 0);
  h.last_value = j.value("last_value", 0.0);
  h.labels = j.value("labels", std::map<std::string, std::string>{});
  return h;
}

EventRecord EventFromJson(const json& j) {
  EventRecord e;
  e.seq = IntField<uint64_t>(j, "seq", 0);
  e.rule_id = j.value("rule_id", "");
  e.series = j.value("series", "");
  e.from = j.value("from", "");
  e.to = j.value("to", "");
  e.value = j.value("value", 0.0);
  e.ts = IntField<uint32_t>(j, "ts", 0);
  e.at_ms = IntField<int64_t>(j, "at_ms", 0);
  return e;
}

SilenceRecord SilenceFromJson(const json& j) {
  SilenceRecord x;
  x.id = j.value("id", "");
  x.rule = j.value("rule", "");
  x.series = j.value("series", "");
  x.starts_at_ms = IntField<int64_t>(j, "starts_at_ms", 0);
  x.ends_at_ms = IntField<int64_t>(j, "ends_at_ms", 0);
  x.created_by = j.value("created_by", "");
  x.comment = j.value("comment", "");
  return x;
}

OutboxRecord OutboxFromJson(const json& j) {
  OutboxRecord r;
  r.seq = IntField<uint64_t>(j, "seq", 0);
  r.channel = j.value("channel", "");
  r.status = j.value("status", "");
  if (j.contains("alert") && j["alert"].is_object())
    r.alert = AlertFromJson(j["alert"]);
  r.ends_ms = IntField<int64_t>(j, "ends_ms", 0);
  r.created_ms = IntField<int64_t>(j, "created_ms", 0);
  r.attempts = j.value("attempts", 0);
  r.next_attempt_ms = IntField<int64_t>(j, "next_attempt_ms", 0);
  r.replaces = j.value("replaces", "");
  r.reminder = j.value("reminder", false);
  return r;
}

// Decodes a value of an earlier release with `from_json`. nlohmann::json
// throws on a field of the wrong type, and even with allow_exceptions=false on
// some malformed CBOR (an array length past max_size()): the value is corrupt.
template <typename T, typename FromJson>
absl::Status DecodeLegacy(std::string_view what, std::string_view in, Form form,
                          T* out, FromJson from_json) {
  try {
    const json j = ParseLegacy(in, form);
    if (!j.is_object()) return Corrupt(what, "not a JSON object");
    *out = from_json(j);
  } catch (const std::exception& e) {
    return Corrupt(what, e.what());
  }
  return absl::OkStatus();
}

// Decodes a value of any version: the current one with `body`, the earlier
// ones with `from_json`.
template <typename T, typename Body, typename FromJson>
absl::Status Decode(std::string_view what, std::string_view in, T* out,
                    Body body, FromJson from_json) {
  switch (const Form form = FormOf(in)) {
    case Form::kCurrent:
      return DecodeV1(what, in, out, body);
    case Form::kLegacyJson:
    case Form::kLegacyCbor:
      return DecodeLegacy(what, in, form, out, from_json);
    case Form::kUnknown:
      break;
  }
  return UnknownVersion(what, in);
}

}  // namespace

std::string EncodeAlert(const AlertRecord& a) {
  std::string out;
  coding::PutFixed8(&out, kAlertVersion);
  PutAlertBody(&out, a);
  PutForecast(&out, a.forecast);
  return out;
}

absl::Status DecodeAlert(std::string_view in, AlertRecord* a) {
  if (!in.empty() && static_cast<uint8_t>(in[0]) == kAlertVersion) {
    return DecodeV1("alert", in, a, [](Reader* r, AlertRecord* a) {
      return GetAlertBody(r, a) && GetForecast(r, &a->forecast);
    });
  }
  return Decode("alert", in, a, GetAlertBody, AlertFromJson);
}

std::string EncodeHistory(const HistoryRecord& h) {
  std::string out;
  coding::PutFixed8(&out, kRecordVersion);
  coding::PutFixed8(&out, h.nodata ? kHistoryNodata : 0);
  PutLevel(&out, h.peak);
  PutLevel(&out, h.severity);
  coding::PutInt64(&out, h.start_ms);
  coding::PutInt64(&out, h.end_ms);
  coding::PutDouble(&out, h.last_value);
  coding::PutLengthPrefixed(&out, h.rule_id);
  coding::PutLengthPrefixed(&out, h.rule_name);
  coding::PutLengthPrefixed(&out, h.series);
  PutLabels(&out, h.labels);
  return out;
}

absl::Status DecodeHistory(std::string_view in, HistoryRecord* h) {
  auto body = [](Reader* r, HistoryRecord* h) {
    uint8_t flags;
    if (!r->GetFixed8(&flags) || (flags & ~kHistoryNodata) != 0) return false;
    h->nodata = flags & kHistoryNodata;
    return GetLevel(r, &h->peak) && GetLevel(r, &h->severity) &&
           r->GetInt64(&h->start_ms) && r->GetInt64(&h->end_ms) &&
           r->GetDouble(&h->last_value) && r->GetString(&h->rule_id) &&
           r->GetString(&h->rule_name) && r->GetString(&h->series) &&
           GetLabels(r, &h->labels);
  };
  return Decode("history", in, h, body, HistoryFromJson);
}

std::string EncodeEvent(const EventRecord& e) {
  std::string out;
  coding::PutFixed8(&out, kEventVersion);
  coding::PutFixed64(&out, e.seq);
  coding::PutFixed32(&out, e.ts);
  coding::PutInt64(&out, e.at_ms);
  coding::PutDouble(&out, e.value);
  coding::PutLengthPrefixed(&out, e.rule_id);
  coding::PutLengthPrefixed(&out, e.series);
  coding::PutLengthPrefixed(&out, e.from);
  coding::PutLengthPrefixed(&out, e.to);
  PutForecast(&out, e.forecast);
  return out;
}

absl::Status DecodeEvent(std::string_view in, EventRecord* e) {
  auto body = [](Reader* r, EventRecord* e) {
    return r->GetFixed64(&e->seq) && r->GetFixed32(&e->ts) &&
           r->GetInt64(&e->at_ms) && r->GetDouble(&e->value) &&
           r->GetString(&e->rule_id) && r->GetString(&e->series) &&
           r->GetString(&e->from) && r->GetString(&e->to);
  };
  if (!in.empty() && static_cast<uint8_t>(in[0]) == kEventVersion) {
    return DecodeV1("event", in, e, [&body](Reader* r, EventRecord* e) {
      return body(r, e) && GetForecast(r, &e->forecast);
    });
  }
  return Decode("event", in, e, body, EventFromJson);
}

std::string EncodeSilence(const SilenceRecord& x) {
  std::string out;
  coding::PutFixed8(&out, kRecordVersion);
  coding::PutInt64(&out, x.starts_at_ms);
  coding::PutInt64(&out, x.ends_at_ms);
  coding::PutLengthPrefixed(&out, x.id);
  coding::PutLengthPrefixed(&out, x.rule);
  coding::PutLengthPrefixed(&out, x.series);
  coding::PutLengthPrefixed(&out, x.created_by);
  coding::PutLengthPrefixed(&out, x.comment);
  return out;
}

absl::Status DecodeSilence(std::string_view in, SilenceRecord* x) {
  auto body = [](Reader* r, SilenceRecord* x) {
    return r->GetInt64(&x->starts_at_ms) && r->GetInt64(&x->ends_at_ms) &&
           r->GetString(&x->id) && r->GetString(&x->rule) &&
           r->GetString(&x->series) && r->GetString(&x->created_by) &&
           r->GetString(&x->comment);
  };
  return Decode("silence", in, x, body, SilenceFromJson);
}

std::string EncodeOutbox(const OutboxRecord& o) {
  std::string out;
  coding::PutFixed8(&out, kOutboxVersion);
  coding::PutFixed64(&out, o.seq);
  coding::PutInt64(&out, o.created_ms);
  coding::PutInt64(&out, o.ends_ms);
  coding::PutFixed32(&out, static_cast<uint32_t>(o.attempts));
  coding::PutInt64(&out, o.next_attempt_ms);
  coding::PutLengthPrefixed(&out, o.channel);
  coding::PutLengthPrefixed(&out, o.status);
  coding::PutLengthPrefixed(&out, o.replaces);
  coding::PutFixed8(&out, o.reminder ? kOutboxReminder : 0);
  PutAlertBody(&out, o.alert);
  PutForecast(&out, o.alert.forecast);
  return out;
}

absl::Status DecodeOutbox(std::string_view in, OutboxRecord* o) {
  auto body = [](Reader* r, OutboxRecord* o) {
    uint32_t attempts;
    if (!r->GetFixed64(&o->seq) || !r->GetInt64(&o->created_ms) ||
        !r->GetInt64(&o->ends_ms) || !r->GetFixed32(&attempts)) {
      return false;
    }
    o->attempts = static_cast<int32_t>(attempts);
    uint8_t flags;
    if (!r->GetInt64(&o->next_attempt_ms) || !r->GetString(&o->channel) ||
        !r->GetString(&o->status) || !r->GetString(&o->replaces) ||
        !r->GetFixed8(&flags) || (flags & ~kOutboxReminder) != 0) {
      return false;
    }
    o->reminder = flags & kOutboxReminder;
    return GetAlertBody(r, &o->alert);
  };
  if (!in.empty() && static_cast<uint8_t>(in[0]) == kOutboxVersion) {
    return DecodeV1("outbox", in, o, [body](Reader* r, OutboxRecord* o) {
      return body(r, o) && GetForecast(r, &o->alert.forecast);
    });
  }
  return Decode("outbox", in, o, body, OutboxFromJson);
}

std::string EncodeJsonText(std::string_view json) {
  std::string out;
  coding::PutFixed8(&out, kRecordVersion);
  out.append(json);
  return out;
}

absl::Status DecodeJsonText(std::string_view in, std::string* json) {
  switch (FormOf(in)) {
    case Form::kCurrent:
      json->assign(in.substr(1));
      return absl::OkStatus();
    case Form::kLegacyJson:  // earlier releases: the text alone
      json->assign(in);
      return absl::OkStatus();
    case Form::kLegacyCbor:  // never written for rules and templates
    case Form::kUnknown:
      break;
  }
  return UnknownVersion("rule or template", in);
}

namespace {
constexpr uint8_t kRecordDeleted = 1;  // record_versions flags
}  // namespace

std::string EncodeRecordState(const RecordState& state) {
  std::string out;
  coding::PutFixed8(&out, kRecordVersion);
  coding::PutFixed8(&out, state.deleted ? kRecordDeleted : 0);
  coding::PutInt64(&out, state.version.updated_ms);
  coding::PutLengthPrefixed(&out, state.version.node_id);
  return out;
}

absl::Status DecodeRecordState(std::string_view in, RecordState* state) {
  if (in.empty() || static_cast<uint8_t>(in[0]) != kRecordVersion) {
    return UnknownVersion("record version", in);
  }
  return DecodeV1("record version", in, state, [](Reader* r, RecordState* s) {
    uint8_t flags;
    if (!r->GetFixed8(&flags) || (flags & ~kRecordDeleted) != 0) return false;
    s->deleted = flags & kRecordDeleted;
    return r->GetInt64(&s->version.updated_ms) &&
           r->GetString(&s->version.node_id);
  });
}

std::string EncodeSyncEntry(RecordKind kind, std::string_view id) {
  std::string out;
  coding::PutFixed8(&out, kRecordVersion);
  coding::PutFixed8(&out, static_cast<uint8_t>(kind));
  coding::PutLengthPrefixed(&out, id);
  return out;
}

absl::Status DecodeSyncEntry(std::string_view in, RecordKind* kind,
                             std::string* id) {
  if (in.empty() || static_cast<uint8_t>(in[0]) != kRecordVersion) {
    return UnknownVersion("sync outbox", in);
  }
  Reader r(in.substr(1));
  uint8_t k;
  std::string text;
  if (!r.GetFixed8(&k) || k < static_cast<uint8_t>(RecordKind::kRule) ||
      k > static_cast<uint8_t>(RecordKind::kSilence) || !r.GetString(&text)) {
    return Corrupt("sync outbox", "truncated or malformed");
  }
  if (r.remaining() != 0) return Corrupt("sync outbox", "trailing bytes");
  *kind = static_cast<RecordKind>(k);
  *id = std::move(text);
  return absl::OkStatus();
}

}  // namespace gralarm::records
