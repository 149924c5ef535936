#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gralarm/cli.h"
#include "gralarm/config.h"
#include "gralarm/line_parser.h"
#include "gralarm/log.h"
#include "gralarm/record_json.h"
#include "gralarm/router.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/server.h"
#include "gralarm/store.h"
#include "gralarm/strings.h"
#include "gralarm/version.h"

namespace gralarm {
namespace {

constexpr char kDefaultConfig[] = "/etc/gralarm/gralarm.toml";

constexpr char kUsage[] =
    R"(gralarm - Carbon-protocol ingest proxy with inline alerting

Usage:
  gralarm serve [-c FILE] [--log-level LEVEL]
      Run the proxy: plaintext on ingest.listen (TCP and UDP), pickle on
      ingest.pickle_listen, forwarding to forward.destinations, HTTP (the
      JSON API, the web page, /healthz, /metrics) on api.listen.
      SIGTERM/SIGINT: stop accepting, deliver queued points (up to 8 s), exit 0.
      SIGHUP: reload FILE and its rule files; when either has an error it is
      reported and the running configuration and rules stay in force.
  gralarm check-config [-c FILE]
      Validate FILE and its rule files: print every error as a
      "file:line:col: message" line and exit 1. The rules created through the
      API (read-only from store.path, beside a running server too) are checked
      against FILE: one that names a schedule, template or channel FILE lacks
      is a "warning:" line, like a config without destinations; warnings
      alone exit 0.
  gralarm match [-c FILE] [METRIC...]
      Print the destinations each metric is sent to, the rules it matches and
      the target rules it is an input of:
      those of rules.files and those created through the API (read-only from
      store.path; without a store, rule files only, said on stderr). Names
      from stdin when none are given. any_of is routed as if every
      destination were up (said on stderr).
  gralarm alerts [-c FILE]
      Print the active alerts, the alert history and the transitions held in
      store.path as JSON lines (read-only: works beside a running server and
      on a copy of the store).
  gralarm --version
  gralarm --help

Options:
  -c, --config FILE     configuration file (default /etc/gralarm/gralarm.toml)
  --log-level LEVEL     trace, debug, info, warn, error (default info)

Exit codes: 0 ok, 1 runtime or validation failure, 2 usage error.
)";

struct Args {
  std::string command;
  std::string config = kDefaultConfig;
  std::string log_level = "info";
  std::vector<std::string> positional;
};

// Parses the arguments after the command name; returns false on a usage error.
bool ParseArgs(int argc, char** argv, Args* args, std::ostream& err) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        err << "gralarm: " << a << " needs a value\n";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    if (a == "-c" || a == "--config") {
      if (!value(&args->config)) return false;
    } else if (a.rfind("--config=", 0) == 0) {
      args->config = a.substr(9);
    } else if (a == "--log-level") {
      if (!value(&args->log_level)) return false;
    } else if (a.size() > 1 && a[0] == '-') {
      err << "gralarm: unknown option " << a << "\n";
      return false;
    } else {
      args->positional.push_back(a);
    }
  }
  return true;
}

// The store of `config` opened read-only (it works beside a running server),
// or null with a note in `*why` when there is none yet or it cannot be read.
std::unique_ptr<Store> OpenStoreReadOnly(const Config& config,
                                         std::string* why) {
  const std::string& path = config.store.path;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) {
    *why = StrCat("no store at ", path, " (store.path) yet");
    return nullptr;
  }
  auto store = Store::Open(path, /*read_only=*/true);
  if (!store.ok()) {
    *why =
        StrCat("store ", path, " cannot be read: ", store.status().message());
    return nullptr;
  }
  return std::move(*store);
}

// Errors (exit 1) are printed as they are ("file:line:col: message");
// warnings (exit 0) as "warning: ..." lines.
int CheckConfig(const Args& args, std::ostream& out, std::ostream& err) {
  auto config = LoadConfigFile(args.config);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return kExitFailure;
  }
  std::vector<std::string> warnings;
  if ((*config)->forward.destinations.empty()) {
    warnings.push_back(
        StrCat(args.config,
               ": no [[forward.destinations]]: points are received and "
               "evaluated but forwarded nowhere"));
  }
  // The API rules of the store are checked against this config too: a config
  // that drops a schedule, template or channel they name leaves them invalid.
  std::string no_store;
  std::unique_ptr<Store> store = OpenStoreReadOnly(**config, &no_store);
  auto rules = LoadRules(**config, store.get(), 1);
  if (!rules.ok()) {
    err << rules.status().message() << "\n";
    return kExitFailure;
  }
  for (const std::string& w : (*rules)->warnings()) warnings.push_back(w);
  for (const std::string& w : warnings) err << "warning: " << w << "\n";
  if (store == nullptr)
    out << "note: " << no_store << ": API rules not checked\n";
  out << args.config << ": ok";
  if (!warnings.empty()) {
    out << " (" << warnings.size()
        << (warnings.size() == 1 ? " warning)" : " warnings)");
  }
  out << "\n";
  return kExitOk;
}

int Match(const Args& args, std::istream& in, std::ostream& out,
          std::ostream& err) {
  auto config = LoadConfigFile(args.config);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return kExitFailure;
  }
  auto router = Router::Create((*config)->forward);
  if (!router.ok()) {
    err << args.config << ": " << router.status().message() << "\n";
    return kExitFailure;
  }
  // The rules of the rule files and, read-only, those created through the API
  // (as in force when the store was opened; a running server keeps it open).
  std::string no_store;
  std::unique_ptr<Store> store = OpenStoreReadOnly(**config, &no_store);
  if (store == nullptr) {
    err << "note: " << no_store << ": rules from rules.files only\n";
  }
  auto rules = LoadRules(**config, store.get(), 1);
  if (!rules.ok()) {
    err << rules.status().message() << "\n";
    return kExitFailure;
  }
  for (const std::string& w : (*rules)->warnings())
    err << "warning: " << w << "\n";
  // No forwarder runs here: routed with every destination up.
  const Liveness all_up;
  if ((*router)->fails_over()) {
    err << "note: routed with every destination up; a running server sends "
           "a metric whose destination is down to the next live one\n";
  }
  const auto& dests = (*config)->forward.destinations;
  auto print = [&](const std::string& metric) {
    const std::string_view name = MetricName(metric);  // rings and rules use it
    int targets[kMaxFanout];
    const int n = (*router)->Route(name, all_up, targets);
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i)
      names.push_back(DestinationName(dests[targets[i]]));
    RuleSet::Matches matches;
    (*rules)->Match(name, &matches);
    std::vector<std::string> ids;
    for (uint32_t m : matches) ids.push_back((*rules)->rules()[m]->spec.id);
    (*rules)->MatchTargets(name, &matches);
    std::vector<std::string> target_ids;
    for (uint32_t m : matches)
      target_ids.push_back((*rules)->rules()[m]->spec.id);
    out << metric << "\n  destinations: " << absl::StrJoin(names, " ")
        << "\n  rules: " << (ids.empty() ? "-" : absl::StrJoin(ids, " "));
    if (!target_ids.empty()) {
      out << "\n  target rules (input): " << absl::StrJoin(target_ids, " ");
    }
    out << "\n";
  };
  if (!args.positional.empty()) {
    for (const std::string& m : args.positional) print(m);
  } else {
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string metric = line.substr(0, line.find_first_of(" \t"));
      if (!metric.empty()) print(metric);
    }
  }
  return kExitOk;
}

// Prints what the store holds, as JSON lines: {"alert": ...}, {"history": ...},
// {"event": ...}.
int Alerts(const Args& args, std::ostream& out, std::ostream& err) {
  auto config = LoadConfigFile(args.config);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return kExitFailure;
  }
  auto store = Store::Open((*config)->store.path, /*read_only=*/true);
  if (!store.ok()) {
    err << store.status().message() << "\n";
    return kExitFailure;
  }
  auto alerts = (*store)->ActiveAlerts();
  auto history = (*store)->History(0, INT64_MAX);
  auto events = (*store)->Events();
  for (const absl::Status& s :
       {alerts.status(), history.status(), events.status()}) {
    if (!s.ok()) {
      err << s.message() << "\n";
      return kExitFailure;
    }
  }
  using nlohmann::json;
  for (const AlertRecord& a : *alerts) {
    json j = AlertJson(a);
    j["held"] = a.held;  // notification held until its schedule opens
    out << JsonText(json{{"alert", j}}) << "\n";
  }
  for (const HistoryRecord& h : *history) {
    out << JsonText(json{{"history", HistoryJson(h)}}) << "\n";
  }
  for (const EventRecord& e : *events) {
    out << JsonText(json{{"event", EventJson(e)}}) << "\n";
  }
  return kExitOk;
}

void LogConfigErrors(const absl::Status& status) {
  const std::string text(status.message());
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) spdlog::error("{}", text.substr(start, end - start));
    start = end + 1;
  }
}

int Serve(const Args& args, std::ostream& err) {
  InitLogging(args.log_level);
  auto config = LoadConfigFile(args.config);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return kExitFailure;
  }
  // Signals are taken synchronously by this thread only; every thread started
  // from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Server server(*config);
  if (absl::Status s = server.Start(); !s.ok()) {
    spdlog::error("cannot start: {}", s.message());
    return kExitFailure;
  }
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading {}", args.config);
      auto next = LoadConfigFile(args.config);
      if (!next.ok()) {
        LogConfigErrors(next.status());
        spdlog::error(
            "reload failed; the running configuration stays in force");
        continue;
      }
      server.Reload(*next);
      continue;
    }
    spdlog::info("{}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server.Stop(
        std::chrono::seconds(8));  // README "Commands": exit within 10 s
    spdlog::info("stopped");
    return kExitOk;
  }
}

}  // namespace

int RunCli(int argc, char** argv, std::istream& in, std::ostream& out,
           std::ostream& err) {
  if (argc < 2) {
    err << kUsage;
    return kExitUsage;
  }
  std::string command = argv[1];
  if (command == "--version" || command == "version") {
    out << "gralarm " << kVersion << "\n";
    return kExitOk;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    out << kUsage;
    return kExitOk;
  }
  Args args;
  args.command = command;
  if (!ParseArgs(argc, argv, &args, err)) {
    err << "run 'gralarm --help' for usage\n";
    return kExitUsage;
  }
  if (command == "serve" || command == "check-config") {
    if (!args.positional.empty()) {
      err << "gralarm " << command << ": unexpected argument "
          << args.positional[0] << "\nrun 'gralarm --help' for usage\n";
      return kExitUsage;
    }
    return command == "serve" ? Serve(args, err) : CheckConfig(args, out, err);
  }
  if (command == "match") return Match(args, in, out, err);
  if (command == "alerts") return Alerts(args, out, err);
  err << "gralarm: unknown command " << command
      << "\nrun 'gralarm --help' for usage\n";
  return kExitUsage;
}

}  // namespace gralarm
