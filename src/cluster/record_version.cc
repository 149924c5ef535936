#include "gralarm/record_version.h"

#include <algorithm>

namespace gralarm {

std::string_view RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kRule:
      return "rule";
    case RecordKind::kTemplate:
      return "template";
    case RecordKind::kSilence:
      return "silence";
  }
  return "unknown";
}

bool ParseRecordKind(std::string_view name, RecordKind* kind) {
  for (RecordKind k :
       {RecordKind::kRule, RecordKind::kTemplate, RecordKind::kSilence}) {
    if (RecordKindName(k) == name) {
      *kind = k;
      return true;
    }
  }
  return false;
}

RecordVersion NextVersion(const std::optional<RecordVersion>& stored,
                          int64_t now_ms, std::string_view node_id) {
  RecordVersion v;
  v.updated_ms = stored ? std::max(now_ms, stored->updated_ms + 1) : now_ms;
  v.node_id = std::string(node_id);
  return v;
}

bool ShouldApply(const std::optional<RecordState>& held,
                 const RecordVersion& incoming) {
  return !held || incoming > held->version;
}

}  // namespace gralarm
