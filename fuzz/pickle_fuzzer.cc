// libFuzzer target: the pickle frame decoder and the stream framer. Decoding
// must never crash, hang or allocate past its limits, whatever the bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "gralarm/pickle_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<gralarm::PicklePoint> points;
  gralarm::DecodePickle(bytes, &points);
  gralarm::PickleFramer framer;
  framer.Feed(bytes.data(), bytes.size(), [](std::string_view frame) {
    std::vector<gralarm::PicklePoint> p;
    gralarm::DecodePickle(frame, &p);
  });
  return 0;
}
