#ifndef GRALARM_SRC_STORE_RECORDS_H_
#define GRALARM_SRC_STORE_RECORDS_H_

// The encodings of the store's values, one codec a kind of record; the byte
// layouts are docs/STORAGE.md's. Encode* writes the current version. Decode*
// reads the current version and every earlier one (the JSON text and CBOR
// values of earlier releases), and refuses anything else, truncated or
// trailing input included, with a DataLossError: never a crash, never a
// partial record.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gralarm/store.h"

namespace gralarm::records {

// The version byte that starts every value these codecs write (series states
// have their own: kSeriesStateVersion of store.h).
inline constexpr uint8_t kRecordVersion = 1;
// Alerts, events and outbox records are at version 2 (version 1 and a
// forecast); their version 1 is still read.
inline constexpr uint8_t kAlertVersion = 2;
inline constexpr uint8_t kEventVersion = 2;
inline constexpr uint8_t kOutboxVersion = 2;

std::string EncodeAlert(const AlertRecord& alert);
absl::Status DecodeAlert(std::string_view in, AlertRecord* alert);

std::string EncodeHistory(const HistoryRecord& history);
absl::Status DecodeHistory(std::string_view in, HistoryRecord* history);

std::string EncodeEvent(const EventRecord& event);
absl::Status DecodeEvent(std::string_view in, EventRecord* event);

std::string EncodeSilence(const SilenceRecord& silence);
absl::Status DecodeSilence(std::string_view in, SilenceRecord* silence);

std::string EncodeOutbox(const OutboxRecord& record);
absl::Status DecodeOutbox(std::string_view in, OutboxRecord* record);

// Rules and templates: the JSON text the API validated, kept as it is.
std::string EncodeJsonText(std::string_view json);
absl::Status DecodeJsonText(std::string_view in, std::string* json);

// Replicated records: the version entry of a rule, template or silence, and
// a sync outbox entry (its kind and id).
std::string EncodeRecordState(const RecordState& state);
absl::Status DecodeRecordState(std::string_view in, RecordState* state);
std::string EncodeSyncEntry(RecordKind kind, std::string_view id);
absl::Status DecodeSyncEntry(std::string_view in, RecordKind* kind,
                             std::string* id);

}  // namespace gralarm::records

#endif  // GRALARM_SRC_STORE_RECORDS_H_
