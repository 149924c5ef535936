// libFuzzer target: HTTP request handling of the JSON API, from the request
// line and query string to the handlers' body parsing, over a real store. The
// input is "METHOD TARGET\n[Authorization]\nBODY". Backups are left out (each
// would write a checkpoint to disk).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "gralarm/alert_service.h"
#include "gralarm/api.h"
#include "gralarm/clock.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"

namespace {

class FuzzBackend : public gralarm::ApiBackend {
 public:
  FuzzBackend() {
    const std::string dir = std::filesystem::temp_directory_path() /
                            ("gralarm-fuzz-http-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    static std::string to_remove;
    to_remove = dir;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
    config_ = *gralarm::ParseConfig("", "fuzz.toml");
    store_ = std::move(*gralarm::Store::Open(dir));
    engine_ =
        std::make_unique<gralarm::AlertEngine>(store_.get(), &clock_, config_);
    (void)ReloadRules();
    service_ = std::make_unique<gralarm::AlertService>(
        store_.get(), engine_.get(), [this] { return config_; },
        [this] { return ReloadRules(); });
  }
  std::shared_ptr<const gralarm::Config> config() override { return config_; }
  const gralarm::AlertEngine& alert_engine() override { return *engine_; }
  gralarm::AlertService& alert_service() override { return *service_; }
  absl::Status ScanHistory(
      int64_t from_ms, int64_t to_ms, std::string_view after_key,
      const std::function<bool(std::string_view,
                               const gralarm::HistoryRecord&)>& fn,
      const std::function<bool(std::string_view, std::string_view)>& key_filter)
      override {
    return store_->ScanHistory(from_ms, to_ms, after_key, fn, key_filter);
  }
  absl::Status ScanEvents(
      uint64_t after_seq,
      const std::function<bool(const gralarm::EventRecord&)>& fn) override {
    return store_->ScanEvents(after_seq, fn);
  }
  absl::Status Checkpoint(const std::string&) override {
    return absl::UnimplementedError("backups are left out");
  }
  absl::Status ReloadRules() {
    auto rules = gralarm::LoadRules(*config_, store_.get(), ++generation_);
    if (!rules.ok()) return rules.status();
    engine_->SetRules(*rules);
    return absl::OkStatus();
  }
  std::vector<std::string> Route(std::string_view) override {
    return {"127.0.0.1:2103"};
  }

 private:
  gralarm::FakeClock clock_{1767225600000};
  std::shared_ptr<const gralarm::Config> config_;
  std::unique_ptr<gralarm::Store> store_;
  std::unique_ptr<gralarm::AlertEngine> engine_;
  std::unique_ptr<gralarm::AlertService> service_;
  uint64_t generation_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FuzzBackend* backend = new FuzzBackend();
  static gralarm::Api* api = new gralarm::Api(backend);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view first = in.substr(0, nl);
  const size_t sp = first.find(' ');
  if (sp == std::string_view::npos) return 0;
  gralarm::HttpRequest r;
  r.method = std::string(first.substr(0, sp));
  const std::string_view target = first.substr(sp + 1);
  const size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  if (r.path.find("backup") != std::string::npos) return 0;
  if (nl != std::string_view::npos) {
    const std::string_view rest = in.substr(nl + 1);
    const size_t nl2 = rest.find('\n');
    r.authorization = std::string(rest.substr(0, nl2));
    if (nl2 != std::string_view::npos)
      r.body = std::string(rest.substr(nl2 + 1));
  }
  // As the web page and curl send them; other content types get 415.
  r.content_type = "application/json";
  (void)gralarm::ParseQuery(r.query);
  const gralarm::HttpResponse response = api->Handle(r);
  if (response.status < 200 || response.status > 599) std::abort();
  if (response.stream) {
    (void)response.stream([](std::string_view) { return true; });
  }
  return 0;
}
