#ifndef GRALARM_PICKLE_DECODER_H_
#define GRALARM_PICKLE_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gralarm {

// Why a whole pickle frame was refused: gralarm_pickle_frames_invalid_total.
enum class PickleError : int {
  kNone = -1,
  kOpcode = 0,     // an opcode outside the whitelist (GLOBAL, REDUCE, ...)
  kMalformed = 1,  // truncated, bad argument, stack misuse, no list at the end
  kLimit = 2,      // nesting, stack or memo past the decoder's limits
  kTooLarge = 3,   // the frame's length prefix is over kMaxPickleFrameBytes
};
inline constexpr int kNumPickleErrors = 4;
std::string_view PickleErrorName(int error);

inline constexpr size_t kMaxPickleFrameBytes = 1 << 20;

// One element of a decoded frame, its fields as plaintext-protocol text.
// `shape_ok` is false when the element is not (path, (timestamp, value)) with
// a string path and number (or numeric string) fields: that element alone is
// dropped. Fields are not validated here: the caller runs them through the
// line parser, after refusing any field holding a byte <= 0x20 or 0x7f.
struct PicklePoint {
  bool shape_ok = false;
  std::string path;
  std::string value;
  std::string timestamp;
};

// Decodes one frame (without its length prefix): a pickled list of
// (path, (timestamp, value)), protocols 0 to 5. The decoder interprets only the
// opcodes needed to build None, bools, ints, floats, strings, bytes, lists and
// tuples, with their memo; anything that would call into Python (GLOBAL,
// STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4, PERSID,
// BINPERSID), dicts, sets and out-of-band buffers are refused. Never throws;
// memory is bounded by the frame size.
PickleError DecodePickle(std::string_view frame,
                         std::vector<PicklePoint>* points);

// Cuts a pickle stream into frames: a 4-byte big-endian length, then that many
// bytes.
class PickleFramer {
 public:
  // Feeds bytes; calls `on_frame` for each complete frame. Returns false, and
  // stops, at a length prefix over kMaxPickleFrameBytes: the stream cannot be
  // re-synchronized and the connection must be closed.
  bool Feed(const char* data, size_t n,
            const std::function<void(std::string_view frame)>& on_frame);
  // Bytes of an unfinished frame (or prefix) held.
  size_t pending() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

}  // namespace gralarm

#endif  // GRALARM_PICKLE_DECODER_H_
