#ifndef GRALARM_SRC_STORE_CODING_H_
#define GRALARM_SRC_STORE_CODING_H_

// Byte-level coding of stored keys and values (docs/STORAGE.md "Coding"):
// fixed-width little-endian integers and doubles, varint32 lengths and
// length-prefixed strings for values; fixed-width big-endian integers for keys,
// so that keys sort by number. Decoding never reads past its input.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace gralarm::coding {

static_assert(sizeof(double) == 8);

inline void PutFixed8(std::string* out, uint8_t v) {
  out->push_back(static_cast<char>(v));
}

// Little-endian, `bytes` wide (1..8).
inline void PutFixedLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutFixed16(std::string* out, uint16_t v) { PutFixedLE(out, v, 2); }
inline void PutFixed32(std::string* out, uint32_t v) { PutFixedLE(out, v, 4); }
inline void PutFixed64(std::string* out, uint64_t v) { PutFixedLE(out, v, 8); }
// Two's complement, as PutFixed64.
inline void PutInt64(std::string* out, int64_t v) {
  PutFixed64(out, static_cast<uint64_t>(v));
}
// The IEEE-754 binary64 bits, as PutFixed64 (NaN payloads and -0 kept).
inline void PutDouble(std::string* out, double v) {
  PutFixed64(out, std::bit_cast<uint64_t>(v));
}
// 7 bits a byte, least significant first, high bit set on all but the last
// byte (1 to 5 bytes), as leveldb's PutVarint32.
inline void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
// varint32 length, then the bytes. `s` must be shorter than 4 GiB.
inline void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutVarint32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Big-endian, `bytes` wide (1..8): for keys.
inline void PutBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
// `in` must hold at least `bytes` bytes.
inline uint64_t DecodeBigEndian(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
// `in` must hold at least `bytes` bytes.
inline uint64_t DecodeFixedLE(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// Reads a value front to back. Every Get* returns false, consuming nothing,
// when the input is too short or malformed.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool GetFixed8(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool GetFixed16(uint16_t* v) { return GetLE(v, 2); }
  bool GetFixed32(uint32_t* v) { return GetLE(v, 4); }
  bool GetFixed64(uint64_t* v) { return GetLE(v, 8); }
  bool GetInt64(int64_t* v) {
    uint64_t u;
    if (!GetFixed64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool GetDouble(double* v) {
    uint64_t u;
    if (!GetFixed64(&u)) return false;
    *v = std::bit_cast<double>(u);
    return true;
  }
  // Refuses a varint longer than 5 bytes or above 2^32 - 1.
  bool GetVarint32(uint32_t* v) {
    uint64_t result = 0;
    for (size_t i = 0; i < 5 && i < in_.size(); ++i) {
      const uint8_t byte = static_cast<uint8_t>(in_[i]);
      result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        if (result > UINT32_MAX) return false;
        *v = static_cast<uint32_t>(result);
        in_.remove_prefix(i + 1);
        return true;
      }
    }
    return false;
  }
  // A view into the input: valid while the input is.
  bool GetLengthPrefixed(std::string_view* s) {
    Reader copy = *this;
    uint32_t n;
    if (!copy.GetVarint32(&n) || copy.in_.size() < n) return false;
    *s = copy.in_.substr(0, n);
    copy.in_.remove_prefix(n);
    *this = copy;
    return true;
  }
  bool GetString(std::string* s) {
    std::string_view v;
    if (!GetLengthPrefixed(&v)) return false;
    s->assign(v);
    return true;
  }

  size_t remaining() const { return in_.size(); }

 private:
  template <typename T>
  bool GetLE(T* v, int bytes) {
    if (in_.size() < static_cast<size_t>(bytes)) return false;
    *v = static_cast<T>(DecodeFixedLE(in_, bytes));
    in_.remove_prefix(bytes);
    return true;
  }

  std::string_view in_;
};

}  // namespace gralarm::coding

#endif  // GRALARM_SRC_STORE_CODING_H_
