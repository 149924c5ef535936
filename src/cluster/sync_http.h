#ifndef GRALARM_SRC_CLUSTER_SYNC_HTTP_H_
#define GRALARM_SRC_CLUSTER_SYNC_HTTP_H_

// A blocking HTTP POST of a JSON body to a peer's API (libcurl, no signals).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gralarm/http_client.h"

namespace gralarm {

// POSTs `body` (Content-Type: application/json) to `url` with
// "Authorization: Bearer <token>" when `token` is not empty. Any answer is OK
// (the caller judges its status); errors are as HttpGet's and never hold the
// token.
absl::StatusOr<HttpClientResponse> PostJsonWithToken(const std::string& url,
                                                     std::string_view body,
                                                     std::string_view token,
                                                     int64_t timeout_ms);

}  // namespace gralarm

#endif  // GRALARM_SRC_CLUSTER_SYNC_HTTP_H_
