#ifndef GRALARM_RECORD_JSON_H_
#define GRALARM_RECORD_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "gralarm/store.h"

namespace gralarm {

// JSON text of `j`. Series names need not be UTF-8: bytes that are not valid
// UTF-8 are written as U+FFFD instead of failing (nlohmann's dump() would
// throw).
std::string JsonText(const nlohmann::json& j);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD,
// as JsonText() writes it.
std::string ValidUtf8(std::string_view text);

// RFC 3339 UTC with milliseconds ("2026-11-26T15:00:00.000Z").
std::string Rfc3339Millis(int64_t ms);

// Alerts, history entries and events as operators read them (README "HTTP
// API and web page"), shared by the HTTP API and `gralarm alerts`.
nlohmann::json AlertJson(const AlertRecord& a);
nlohmann::json HistoryJson(const HistoryRecord& h);
nlohmann::json EventJson(const EventRecord& e);

}  // namespace gralarm

#endif  // GRALARM_RECORD_JSON_H_
