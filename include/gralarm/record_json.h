#ifndef GRALARM_RECORD_JSON_H_
#define GRALARM_RECORD_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "gralarm/store.h"

namespace gralarm {

// RFC 3339 UTC with milliseconds ("2026-11-26T15:00:00.000Z").
std::string Rfc3339Millis(int64_t ms);

// Alerts, history entries and events as operators read them (SPEC.md section
// 7), shared by the HTTP API and `gralarm alerts`.
nlohmann::json AlertJson(const AlertRecord& a);
nlohmann::json HistoryJson(const HistoryRecord& h);
nlohmann::json EventJson(const EventRecord& e);

}  // namespace gralarm

#endif  // GRALARM_RECORD_JSON_H_
