// libFuzzer target: the decoders of the store's values (docs/STORAGE.md), fed
// arbitrary bytes as every kind of value. Decoding must never crash, and a
// value that decodes must survive re-encoding: Encode(Decode(Encode(r))) is
// Encode(r) byte for byte.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gralarm/store.h"
#include "store/records.h"

namespace {

using namespace gralarm;

template <typename T>
void Check(std::string_view bytes, absl::Status (*decode)(std::string_view, T*),
           std::string (*encode)(const T&)) {
  T record;
  if (!decode(bytes, &record).ok()) return;
  const std::string once = encode(record);
  T again;
  if (!decode(once, &again).ok() || encode(again) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes, records::DecodeAlert, records::EncodeAlert);
  Check(bytes, records::DecodeHistory, records::EncodeHistory);
  Check(bytes, records::DecodeEvent, records::EncodeEvent);
  Check(bytes, records::DecodeSilence, records::EncodeSilence);
  Check(bytes, records::DecodeOutbox, records::EncodeOutbox);
  Check(bytes, records::DecodeRecordState, records::EncodeRecordState);
  RecordKind kind;
  std::string id;
  if (records::DecodeSyncEntry(bytes, &kind, &id).ok()) {
    RecordKind k2;
    std::string id2;
    if (!records::DecodeSyncEntry(records::EncodeSyncEntry(kind, id), &k2, &id2)
             .ok() ||
        k2 != kind || id2 != id) {
      std::abort();
    }
  }
  std::string json;
  if (records::DecodeJsonText(bytes, &json).ok()) {
    std::string again;
    if (!records::DecodeJsonText(records::EncodeJsonText(json), &again).ok() ||
        again != json) {
      std::abort();
    }
  }
  SeriesState state;
  bool nodata = false;
  if (DecodeSeriesState(bytes, &state, &nodata).ok()) {
    const std::string once = EncodeSeriesState(state, nodata);
    SeriesState s2;
    bool n2 = false, legacy = true;
    if (!DecodeSeriesState(once, &s2, &n2, &legacy).ok() || legacy ||
        EncodeSeriesState(s2, n2) != once) {
      std::abort();
    }
  }
  // With a forecast window (a forecast rule's state).
  ForecastWindow window;
  if (DecodeSeriesState(bytes, &state, &nodata, nullptr, &window).ok()) {
    const std::string once = EncodeSeriesState(state, nodata, &window);
    SeriesState s2;
    bool n2 = false, legacy = true;
    ForecastWindow w2;
    if (!DecodeSeriesState(once, &s2, &n2, &legacy, &w2).ok() || legacy ||
        EncodeSeriesState(s2, n2, &w2) != once) {
      std::abort();
    }
  }
  return 0;
}
