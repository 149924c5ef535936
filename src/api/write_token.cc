#include "gralarm/api.h"
#include "gralarm/log.h"

namespace gralarm {

absl::StatusOr<std::string> WriteToken::Get(const ApiOptions& options) {
  if (!options.token.empty()) return options.token;
  if (options.token_file.empty()) return std::string();
  absl::StatusOr<std::string> token = ReadTokenFile(options.token_file);
  absl::MutexLock lock(&mu_);
  if (token.ok()) {
    if (failing_) {
      spdlog::warn("api.token_file {} gives a token again: writes need it",
                   options.token_file);
      failing_ = false;
    }
    last_good_ = *token;
    return last_good_;
  }
  const absl::Time now = absl::Now();
  const std::string error(token.status().message());
  if (!failing_ || error != last_error_ ||
      now - last_logged_ >= absl::Minutes(1)) {
    spdlog::error(
        "{}: {}", token.status().message(),
        last_good_.empty()
            ? "every write is refused until it gives a token"
            : "writes keep needing the last token it gave; fix the file");
    last_logged_ = now;
    last_error_ = error;
  }
  failing_ = true;
  if (last_good_.empty()) {
    return absl::UnavailableError(StrCat(
        "api.token_file ", options.token_file,
        " gives no token: writes are refused until it does (see the log)"));
  }
  return last_good_;
}

}  // namespace gralarm
