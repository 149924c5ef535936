// A blocking HTTP GET over libcurl (no signals, answer size capped).
#include "gralarm/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

struct Sink {
  std::string* body;
  size_t max_bytes;
  bool overflow = false;
};

size_t KeepBody(char* data, size_t size, size_t n, void* out) {
  auto* sink = static_cast<Sink*>(out);
  const size_t len = size * n;
  if (sink->body->size() + len > sink->max_bytes) {
    sink->overflow = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  sink->body->append(data, len);
  return len;
}

void InitCurlOnce() {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The scheme and authority of `url` (up to the path), for finding userinfo.
size_t AuthorityEnd(std::string_view url, size_t start) {
  const size_t end = url.find_first_of("/?#", start);
  return end == std::string_view::npos ? url.size() : end;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  const size_t end = AuthorityEnd(url, start);
  const size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return StrCat(url.substr(0, start), url.substr(start + at + 1));
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string FirstLine(std::string_view text, size_t max_bytes) {
  // Skip leading blank lines: an error page often starts with one.
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  text = text.substr(begin);
  text = text.substr(0, text.find_first_of("\r\n"));
  std::string out;
  for (char ch : text.substr(0, max_bytes)) {
    const auto c = static_cast<unsigned char>(ch);
    out += (c < 0x20 || c == 0x7f) ? ' ' : ch;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (text.size() > max_bytes) out += "...";
  return out;
}

absl::StatusOr<HttpClientResponse> HttpGet(const HttpClientRequest& request) {
  const std::string shown = RedactUrl(request.url);
  if (!request.url.starts_with("http://") &&
      !request.url.starts_with("https://")) {
    return absl::InvalidArgumentError(
        StrCat("GET ", shown, ": not an http:// or https:// URL"));
  }
  InitCurlOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    return absl::InternalError(
        StrCat("GET ", shown, ": curl_easy_init failed"));
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, StrCat(name, ": ", value).c_str());
  }
  HttpClientResponse response;
  Sink sink{&response.body, request.max_body_bytes};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, request.timeout_ms)));
  // No signals from libcurl (its DNS timeouts would use SIGALRM), and writes
  // to its sockets use MSG_NOSIGNAL.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &KeepBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  // A body announced past the cap is refused before it is read.
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_body_bytes));
  const CURLcode res = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  const char* content_type = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type) ==
          CURLE_OK &&
      content_type != nullptr) {
    response.content_type = content_type;
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (sink.overflow || res == CURLE_FILESIZE_EXCEEDED) {
    return absl::ResourceExhaustedError(
        StrCat("GET ", shown, ": answer larger than ", request.max_body_bytes,
               " bytes"));
  }
  if (res == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(StrCat(
        "GET ", shown, ": no answer within ", request.timeout_ms, " ms"));
  }
  if (res != CURLE_OK) {
    return absl::UnavailableError(
        StrCat("GET ", shown, ": ", curl_easy_strerror(res)));
  }
  return response;
}

}  // namespace gralarm
