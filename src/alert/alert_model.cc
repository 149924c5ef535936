#include "gralarm/alert_model.h"

namespace gralarm {

std::string_view AlertStateName(AlertState state) {
  return state == AlertState::kNoData ? "nodata"
                                      : LevelName(static_cast<Level>(state));
}

bool ParseAlertState(std::string_view name, AlertState* out) {
  if (name == "nodata") {
    *out = AlertState::kNoData;
    return true;
  }
  Level level;
  if (!ParseLevel(name, &level)) return false;
  *out = static_cast<AlertState>(level);
  return true;
}

std::string AlertRecord::SeverityName() const {
  return std::string(AlertStateName(state()));
}

}  // namespace gralarm
