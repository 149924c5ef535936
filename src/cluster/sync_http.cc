#include "cluster/sync_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/status/status.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr size_t kMaxAnswerBytes = 1 << 20;

size_t Keep(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  const size_t len = size * n;
  if (body->size() + len > kMaxAnswerBytes) return 0;
  body->append(data, len);
  return len;
}

}  // namespace

absl::StatusOr<HttpClientResponse> PostJsonWithToken(const std::string& url,
                                                     std::string_view body,
                                                     std::string_view token,
                                                     int64_t timeout_ms) {
  const std::string shown = RedactUrl(url);
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return absl::InvalidArgumentError(
        StrCat("POST ", shown, ": not an http:// or https:// URL"));
  }
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    return absl::InternalError(
        StrCat("POST ", shown, ": curl_easy_init failed"));
  }
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  if (!token.empty()) {
    headers = curl_slist_append(
        headers, StrCat("Authorization: Bearer ", token).c_str());
  }
  HttpClientResponse response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, timeout_ms)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Keep);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  const CURLcode res = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (res == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(
        StrCat("POST ", shown, ": no answer within ", timeout_ms, " ms"));
  }
  if (res != CURLE_OK) {
    return absl::UnavailableError(
        StrCat("POST ", shown, ": ", curl_easy_strerror(res)));
  }
  return response;
}

}  // namespace gralarm
