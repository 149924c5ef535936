#ifndef GRALARM_LINE_SPLITTER_H_
#define GRALARM_LINE_SPLITTER_H_

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace gralarm {

// Cuts a byte stream into '\n'-terminated lines, whatever the read boundaries.
// A line longer than max_line_bytes (plus an optional '\r') is never buffered
// whole: the splitter skips to its '\n' and reports it once as too long.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes)
      : max_line_bytes_(max_line_bytes) {}

  void set_max_line_bytes(size_t n) { max_line_bytes_ = n; }

  // Calls on_line(std::string_view) for each complete line (without its '\n')
  // and on_too_long() for each over-long one, in stream order.
  template <typename OnLine, typename OnTooLong>
  void Feed(const char* data, size_t n, OnLine&& on_line,
            OnTooLong&& on_too_long) {
    const char* p = data;
    const char* end = data + n;
    if (discarding_ || !carry_.empty()) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', n));
      if (nl == nullptr) {
        if (!discarding_) {
          if (carry_.size() + n > max_line_bytes_ + 1) {
            carry_.clear();
            discarding_ = true;
          } else {
            carry_.append(p, n);
          }
        }
        return;
      }
      if (discarding_) {
        discarding_ = false;
        on_too_long();
      } else {
        carry_.append(p, static_cast<size_t>(nl - p));
        on_line(std::string_view(carry_));
        carry_.clear();
      }
      p = nl + 1;
    }
    while (p < end) {
      const char* nl = static_cast<const char*>(
          std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (nl == nullptr) break;
      on_line(std::string_view(p, static_cast<size_t>(nl - p)));
      p = nl + 1;
    }
    const size_t tail = static_cast<size_t>(end - p);
    if (tail > max_line_bytes_ + 1) {
      discarding_ = true;
    } else if (tail > 0) {
      carry_.assign(p, tail);
    }
  }

  // Ends the stream. An unterminated last line is passed to on_line when the
  // peer closed cleanly (a sender that omits the final '\n'), and to
  // on_truncated after a reset or timeout (it may be cut short: a truncated
  // timestamp still parses).
  template <typename OnLine, typename OnTooLong, typename OnTruncated>
  void Finish(bool clean_eof, OnLine&& on_line, OnTooLong&& on_too_long,
              OnTruncated&& on_truncated) {
    if (discarding_) {
      discarding_ = false;
      on_too_long();
    } else if (!carry_.empty()) {
      if (clean_eof) {
        on_line(std::string_view(carry_));
      } else {
        on_truncated(std::string_view(carry_));
      }
    }
    carry_.clear();
  }

  // Bytes held for an unfinished line.
  size_t buffered() const { return carry_.size(); }

 private:
  size_t max_line_bytes_;
  std::string carry_;
  bool discarding_ = false;
};

}  // namespace gralarm

#endif  // GRALARM_LINE_SPLITTER_H_
