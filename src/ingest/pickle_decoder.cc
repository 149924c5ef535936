#include "gralarm/pickle_decoder.h"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

#include "absl/container/flat_hash_map.h"

namespace gralarm {

std::string_view PickleErrorName(int error) {
  static constexpr std::string_view kNames[kNumPickleErrors] = {
      "opcode", "malformed", "limit", "too_large"};
  return (error >= 0 && error < kNumPickleErrors) ? kNames[error] : "unknown";
}

namespace {

constexpr size_t kMaxStack = 1 << 18;
constexpr size_t kMaxMemo = 1 << 18;
constexpr int kMaxDepth = 32;

struct Obj {
  enum Kind : uint8_t {
    kNone,
    kBool,
    kInt,
    kFloat,
    kStr,
    kList,
    kTuple,
    kMark
  };
  Kind kind = kNone;
  uint8_t depth = 0;  // containers: 1 + the deepest item's depth
  int64_t i = 0;
  double f = 0;
  std::string s;  // kStr: str or bytes, as bytes (str as UTF-8)
  std::shared_ptr<std::vector<Obj>> items;  // kList, kTuple
};

Obj Make(Obj::Kind kind, int64_t i = 0) {
  Obj o;
  o.kind = kind;
  o.i = i;
  return o;
}

Obj MakeFloat(double f) {
  Obj o;
  o.kind = Obj::kFloat;
  o.f = f;
  return o;
}

Obj MakeStr(std::string s) {
  Obj o;
  o.kind = Obj::kStr;
  o.s = std::move(s);
  return o;
}

Obj Container(Obj::Kind kind, std::vector<Obj> items) {
  Obj o;
  o.kind = kind;
  o.depth = 1;
  for (const Obj& x : items)
    o.depth = std::max<uint8_t>(o.depth, static_cast<uint8_t>(x.depth + 1));
  o.items = std::make_shared<std::vector<Obj>>(std::move(items));
  return o;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Protocol 0 STRING argument: a Python 2 repr, quoted with ' or ".
bool DecodeQuoted(std::string_view in, std::string* out) {
  if (in.size() < 2 || (in.front() != '\'' && in.front() != '"') ||
      in.back() != in.front()) {
    return false;
  }
  in = in.substr(1, in.size() - 2);
  for (size_t k = 0; k < in.size(); ++k) {
    if (in[k] != '\\') {
      out->push_back(in[k]);
      continue;
    }
    if (++k >= in.size()) return false;
    switch (in[k]) {
      case '\\':
      case '\'':
      case '"':
        out->push_back(in[k]);
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'x': {
        if (k + 2 >= in.size()) return false;
        const int hi = HexDigit(in[k + 1]), lo = HexDigit(in[k + 2]);
        if (hi < 0 || lo < 0) return false;
        out->push_back(static_cast<char>(hi * 16 + lo));
        k += 2;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

// Protocol 0 UNICODE argument: raw-unicode-escape (bytes are Latin-1 code
// points; \uXXXX and \UXXXXXXXX escapes), as UTF-8.
bool DecodeRawUnicodeEscape(std::string_view in, std::string* out) {
  for (size_t k = 0; k < in.size(); ++k) {
    const auto b = static_cast<unsigned char>(in[k]);
    if (b == '\\' && k + 1 < in.size() &&
        (in[k + 1] == 'u' || in[k + 1] == 'U')) {
      const size_t digits = in[k + 1] == 'u' ? 4 : 8;
      if (k + 2 + digits > in.size()) return false;
      uint32_t cp = 0;
      for (size_t d = 0; d < digits; ++d) {
        const int h = HexDigit(in[k + 2 + d]);
        if (h < 0) return false;
        cp = cp * 16 + static_cast<uint32_t>(h);
      }
      if (cp > 0x10ffff) return false;
      AppendUtf8(cp, out);
      k += 1 + digits;
      continue;
    }
    AppendUtf8(b, out);
  }
  return true;
}

bool ParseInt(std::string_view text, int64_t* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  PickleError Run(Obj* result) {
    while (true) {
      if (pos_ >= in_.size()) return PickleError::kMalformed;
      const auto op = static_cast<unsigned char>(in_[pos_++]);
      if (op == '.') {  // STOP
        if (stack_.empty() || stack_.back().kind == Obj::kMark)
          return PickleError::kMalformed;
        *result = std::move(stack_.back());
        return PickleError::kNone;
      }
      const PickleError e = Step(op);
      if (e != PickleError::kNone) return e;
    }
  }

 private:
  PickleError Step(unsigned char op) {
    switch (op) {
      case '(':  // MARK
        marks_.push_back(stack_.size());
        return Push(Make(Obj::kMark));
      case '0':  // POP
        if (stack_.empty()) return PickleError::kMalformed;
        if (stack_.back().kind == Obj::kMark) marks_.pop_back();
        stack_.pop_back();
        return PickleError::kNone;
      case '1': {  // POP_MARK
        std::vector<Obj> unused;
        return PopMark(&unused);
      }
      case 'N':  // NONE
        return Push(Obj{});
      case 0x88:  // NEWTRUE
      case 0x89:  // NEWFALSE
        return Push(Make(Obj::kBool, op == 0x88 ? 1 : 0));
      case 'I': {  // INT (protocol 0; "01"/"00" are True/False)
        std::string_view line;
        if (!Line(&line)) return PickleError::kMalformed;
        if (line == "01" || line == "00")
          return Push(Make(Obj::kBool, line == "01" ? 1 : 0));
        int64_t v;
        if (!ParseInt(line, &v)) return PickleError::kMalformed;
        return Push(Make(Obj::kInt, v));
      }
      case 'L': {  // LONG (protocol 0)
        std::string_view line;
        if (!Line(&line)) return PickleError::kMalformed;
        if (!line.empty() && line.back() == 'L') line.remove_suffix(1);
        int64_t v;
        if (!ParseInt(line, &v)) return PickleError::kMalformed;
        return Push(Make(Obj::kInt, v));
      }
      case 'F': {  // FLOAT (protocol 0)
        std::string_view line;
        if (!Line(&line)) return PickleError::kMalformed;
        Obj o = Make(Obj::kFloat);
        // from_chars accepts "nan" and "inf" as Python's repr writes them.
        auto [end, ec] =
            std::from_chars(line.data(), line.data() + line.size(), o.f);
        if (ec != std::errc() || end != line.data() + line.size())
          return PickleError::kMalformed;
        return Push(std::move(o));
      }
      case 'J': {  // BININT
        uint64_t v;
        if (!Fixed(4, &v)) return PickleError::kMalformed;
        return Push(
            Make(Obj::kInt, static_cast<int32_t>(static_cast<uint32_t>(v))));
      }
      case 'K':    // BININT1
      case 'M': {  // BININT2
        uint64_t v;
        if (!Fixed(op == 'K' ? 1 : 2, &v)) return PickleError::kMalformed;
        return Push(Make(Obj::kInt, static_cast<int64_t>(v)));
      }
      case 0x8a:    // LONG1
      case 0x8b: {  // LONG4
        uint64_t n;
        if (!Fixed(op == 0x8a ? 1 : 4, &n)) return PickleError::kMalformed;
        if (op == 0x8b && static_cast<int32_t>(n) < 0)
          return PickleError::kMalformed;
        if (n > 8) return PickleError::kLimit;  // past int64
        std::string_view bytes;
        if (!Take(n, &bytes)) return PickleError::kMalformed;
        uint64_t v = 0;
        for (size_t k = 0; k < n; ++k)
          v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[k]))
               << (8 * k);
        if (n > 0 && n < 8 && (bytes[n - 1] & 0x80))
          v |= ~uint64_t{0} << (8 * n);
        return Push(Make(Obj::kInt, static_cast<int64_t>(v)));
      }
      case 'G': {  // BINFLOAT, big-endian
        std::string_view bytes;
        if (!Take(8, &bytes)) return PickleError::kMalformed;
        uint64_t bits = 0;
        for (char c : bytes) bits = bits << 8 | static_cast<unsigned char>(c);
        return Push(MakeFloat(std::bit_cast<double>(bits)));
      }
      case 'S': {  // STRING (protocol 0)
        std::string_view line;
        Obj o = Make(Obj::kStr);
        if (!Line(&line) || !DecodeQuoted(line, &o.s))
          return PickleError::kMalformed;
        return Push(std::move(o));
      }
      case 'V': {  // UNICODE (protocol 0)
        std::string_view line;
        Obj o = Make(Obj::kStr);
        if (!Line(&line) || !DecodeRawUnicodeEscape(line, &o.s))
          return PickleError::kMalformed;
        return Push(std::move(o));
      }
      case 'U':   // SHORT_BINSTRING
      case 'C':   // SHORT_BINBYTES
      case 0x8c:  // SHORT_BINUNICODE
        return Sized(1);
      case 'T':  // BINSTRING
      case 'B':  // BINBYTES
      case 'X':  // BINUNICODE
        return Sized(4);
      case 0x8d:  // BINUNICODE8
      case 0x8e:  // BINBYTES8
      case 0x96:  // BYTEARRAY8
        return Sized(8);
      case ']':  // EMPTY_LIST
        return Push(Container(Obj::kList, {}));
      case ')':  // EMPTY_TUPLE
        return Push(Container(Obj::kTuple, {}));
      case 'l':    // LIST
      case 't': {  // TUPLE
        std::vector<Obj> items;
        if (PickleError e = PopMark(&items); e != PickleError::kNone) return e;
        return Push(
            Container(op == 'l' ? Obj::kList : Obj::kTuple, std::move(items)));
      }
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        const size_t n = op - 0x84;
        if (stack_.size() < n) return PickleError::kMalformed;
        std::vector<Obj> items;
        for (size_t k = stack_.size() - n; k < stack_.size(); ++k) {
          if (stack_[k].kind == Obj::kMark) return PickleError::kMalformed;
          items.push_back(std::move(stack_[k]));
        }
        stack_.resize(stack_.size() - n);
        return Push(Container(Obj::kTuple, std::move(items)));
      }
      case 'a': {  // APPEND
        if (stack_.size() < 2 || stack_.back().kind == Obj::kMark)
          return PickleError::kMalformed;
        Obj item = std::move(stack_.back());
        stack_.pop_back();
        std::vector<Obj> items;
        items.push_back(std::move(item));
        return Extend(&stack_.back(), std::move(items));
      }
      case 'e': {  // APPENDS
        std::vector<Obj> items;
        if (PickleError e = PopMark(&items); e != PickleError::kNone) return e;
        if (stack_.empty()) return PickleError::kMalformed;
        return Extend(&stack_.back(), std::move(items));
      }
      case 'p': {  // PUT
        std::string_view line;
        int64_t index;
        if (!Line(&line) || !ParseInt(line, &index) || index < 0)
          return PickleError::kMalformed;
        return Put(static_cast<uint64_t>(index));
      }
      case 'q':    // BINPUT
      case 'r': {  // LONG_BINPUT
        uint64_t index;
        if (!Fixed(op == 'q' ? 1 : 4, &index)) return PickleError::kMalformed;
        return Put(index);
      }
      case 0x94:  // MEMOIZE
        return Put(memo_.size());
      case 'g': {  // GET
        std::string_view line;
        int64_t index;
        if (!Line(&line) || !ParseInt(line, &index) || index < 0)
          return PickleError::kMalformed;
        return Get(static_cast<uint64_t>(index));
      }
      case 'h':    // BINGET
      case 'j': {  // LONG_BINGET
        uint64_t index;
        if (!Fixed(op == 'h' ? 1 : 4, &index)) return PickleError::kMalformed;
        return Get(index);
      }
      case 0x80: {  // PROTO
        uint64_t version;
        if (!Fixed(1, &version) || version > 5) return PickleError::kMalformed;
        return PickleError::kNone;
      }
      case 0x95: {  // FRAME: a length hint, nothing to do
        uint64_t unused;
        return Fixed(8, &unused) ? PickleError::kNone : PickleError::kMalformed;
      }
      default:
        // GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ(_EX), EXT*,
        // PERSID, BINPERSID, DUP, dicts, sets, buffers, and unknown bytes.
        return PickleError::kOpcode;
    }
  }

  PickleError Push(Obj o) {
    if (stack_.size() >= kMaxStack) return PickleError::kLimit;
    if (o.depth > kMaxDepth) return PickleError::kLimit;
    stack_.push_back(std::move(o));
    return PickleError::kNone;
  }

  // Items above the last mark, in order; the mark is removed.
  PickleError PopMark(std::vector<Obj>* items) {
    if (marks_.empty()) return PickleError::kMalformed;
    const size_t at = marks_.back();
    marks_.pop_back();
    if (at >= stack_.size() || stack_[at].kind != Obj::kMark)
      return PickleError::kMalformed;
    for (size_t k = at + 1; k < stack_.size(); ++k) {
      if (stack_[k].kind == Obj::kMark) return PickleError::kMalformed;
      items->push_back(std::move(stack_[k]));
    }
    stack_.resize(at);
    return PickleError::kNone;
  }

  PickleError Extend(Obj* list, std::vector<Obj> items) {
    if (list->kind != Obj::kList) return PickleError::kMalformed;
    for (Obj& x : items) {
      if (x.depth + 1 > kMaxDepth) return PickleError::kLimit;
      list->depth = std::max<uint8_t>(list->depth, x.depth + 1);
      list->items->push_back(std::move(x));
    }
    return PickleError::kNone;
  }

  PickleError Put(uint64_t index) {
    if (stack_.empty() || stack_.back().kind == Obj::kMark)
      return PickleError::kMalformed;
    if (memo_.size() >= kMaxMemo && !memo_.contains(index))
      return PickleError::kLimit;
    memo_[index] = stack_.back();
    return PickleError::kNone;
  }

  PickleError Get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return PickleError::kMalformed;
    // A list referenced twice could be made to contain itself; the payload
    // never needs that.
    if (it->second.kind == Obj::kList) return PickleError::kMalformed;
    return Push(it->second);
  }

  // A string or bytes object with a `width`-byte little-endian length.
  PickleError Sized(size_t width) {
    uint64_t n;
    if (!Fixed(width, &n)) return PickleError::kMalformed;
    std::string_view bytes;
    if (!Take(n, &bytes)) return PickleError::kMalformed;
    return Push(MakeStr(std::string(bytes)));
  }

  bool Take(uint64_t n, std::string_view* out) {
    if (n > in_.size() - pos_) return false;
    *out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  bool Fixed(size_t width, uint64_t* out) {
    std::string_view bytes;
    if (!Take(width, &bytes)) return false;
    *out = 0;
    for (size_t k = 0; k < width; ++k)
      *out |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[k]))
              << (8 * k);
    return true;
  }

  bool Line(std::string_view* out) {
    const size_t nl = in_.find('\n', pos_);
    if (nl == std::string_view::npos) return false;
    *out = in_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::vector<Obj> stack_;
  std::vector<size_t> marks_;
  absl::flat_hash_map<uint64_t, Obj> memo_;
};

// A number (or a numeric string, as carbon's float() takes) as protocol text.
bool FieldText(const Obj& o, bool integral, std::string* out) {
  switch (o.kind) {
    case Obj::kBool:
    case Obj::kInt:
      *out = fmt::format("{}", o.i);
      return true;
    case Obj::kFloat:
      if (integral && std::isfinite(o.f)) {
        *out = fmt::format("{:.6f}", o.f);  // truncated by the parser
      } else {
        *out = fmt::format("{}", o.f);  // shortest exact form; nan, inf
      }
      return true;
    case Obj::kStr:
      *out = o.s;
      return true;
    default:
      return false;
  }
}

bool Pair(const Obj& o) {
  return (o.kind == Obj::kTuple || o.kind == Obj::kList) &&
         o.items->size() == 2;
}

}  // namespace

PickleError DecodePickle(std::string_view frame,
                         std::vector<PicklePoint>* points) {
  if (frame.size() > kMaxPickleFrameBytes) return PickleError::kTooLarge;
  Obj result;
  if (PickleError e = Decoder(frame).Run(&result); e != PickleError::kNone)
    return e;
  if (result.kind != Obj::kList && result.kind != Obj::kTuple)
    return PickleError::kMalformed;
  points->reserve(points->size() + result.items->size());
  for (const Obj& element : *result.items) {
    PicklePoint& p = points->emplace_back();
    if (!Pair(element)) continue;
    const Obj& path = (*element.items)[0];
    const Obj& datapoint = (*element.items)[1];
    if (path.kind != Obj::kStr || !Pair(datapoint)) continue;
    p.path = path.s;
    p.shape_ok = FieldText((*datapoint.items)[0], true, &p.timestamp) &&
                 FieldText((*datapoint.items)[1], false, &p.value);
  }
  return PickleError::kNone;
}

bool PickleFramer::Feed(
    const char* data, size_t n,
    const std::function<void(std::string_view frame)>& on_frame) {
  buffer_.append(data, n);
  size_t at = 0;
  while (buffer_.size() - at >= 4) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + at);
    const uint32_t length = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 |
                            uint32_t{p[2]} << 8 | uint32_t{p[3]};
    if (length > kMaxPickleFrameBytes) {
      buffer_.clear();
      return false;
    }
    if (buffer_.size() - at - 4 < length) break;
    on_frame(std::string_view(buffer_).substr(at + 4, length));
    at += 4 + length;
  }
  buffer_.erase(0, at);
  return true;
}

}  // namespace gralarm
