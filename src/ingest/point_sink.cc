#include "gralarm/point_sink.h"

#include "gralarm/alert_engine.h"

namespace gralarm {

uint64_t Point::path_hash() const {
  if (!hashed_) {
    path_hash_ = AlertEngine::PathHash(parsed.path);
    hashed_ = true;
  }
  return path_hash_;
}

}  // namespace gralarm
