#ifndef GRALARM_RECORD_VERSION_H_
#define GRALARM_RECORD_VERSION_H_

// The version every API rule, template and silence carries, so that the two
// nodes of a pair converge on the same record (README "Rules, templates and
// silences"): newest wins, deletes leave a tombstone with their version.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gralarm/alert_model.h"

namespace gralarm {

// The kinds of replicated records. The values are stored (docs/STORAGE.md
// "record_versions" and "sync_outbox"): never renumber.
enum class RecordKind : uint8_t { kRule = 1, kTemplate = 2, kSilence = 3 };
// "rule", "template", "silence".
std::string_view RecordKindName(RecordKind kind);
// The kind of that name; false for any other name.
bool ParseRecordKind(std::string_view name, RecordKind* kind);

// (updated_ms, node_id), ordered by updated_ms, then node_id (bytewise): a
// total order, since one node never writes one record twice with the same
// updated_ms (NextVersion). A record stored before versions existed reads as
// (0, "").
struct RecordVersion {
  int64_t updated_ms = 0;
  std::string node_id;

  friend auto operator<=>(const RecordVersion& a, const RecordVersion& b) {
    if (auto c = a.updated_ms <=> b.updated_ms; c != 0) return c;
    return a.node_id.compare(b.node_id) <=> 0;
  }
  friend bool operator==(const RecordVersion&, const RecordVersion&) = default;
};

// The version a local write at `now_ms` on node `node_id` gives a record whose
// stored version is `stored` (none: never written here): `now_ms`, or
// stored.updated_ms + 1 when the clock would not advance past it.
RecordVersion NextVersion(const std::optional<RecordVersion>& stored,
                          int64_t now_ms, std::string_view node_id);

// What a node holds of one record: its version, and whether it is a
// tombstone (deleted).
struct RecordState {
  RecordVersion version;
  bool deleted = false;
};

// Whether a record with version `incoming` replaces what is held (`held`:
// none when the node never had the record nor its tombstone): newest wins; an
// equal version is the same write, already applied.
bool ShouldApply(const std::optional<RecordState>& held,
                 const RecordVersion& incoming);

// One replicated record as it travels between nodes: its state, and unless it
// is a tombstone its content (`json` for rules and templates, the API's JSON
// text of them; `silence` for silences).
struct ReplicatedRecord {
  RecordKind kind = RecordKind::kRule;
  std::string id;  // rule id, template name or silence id
  RecordState state;
  std::string json;
  SilenceRecord silence;
};

}  // namespace gralarm

#endif  // GRALARM_RECORD_VERSION_H_
