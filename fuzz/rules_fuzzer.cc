// libFuzzer target: the rule parsers. The first byte picks the parser (rule
// JSON, template JSON, rule file TOML, config TOML, the bulk change of
// POST /api/v1/rules/bulk, the records of /api/v1/cluster/records); a rule
// that parses is also resolved, and its JSON must parse back; a bulk change
// that parses is applied to a rule; records that parse must write back as
// records that parse.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/rule_bulk.h"
#include "gralarm/config.h"
#include "gralarm/record_sync.h"
#include "gralarm/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  static const std::shared_ptr<const gralarm::Config> config =
      *gralarm::ParseConfig("", "fuzz.toml");
  switch (data[0] % 6) {
    case 0: {
      auto spec = gralarm::ParseRuleJson(text);
      if (!spec.ok()) break;
      (void)gralarm::ResolveRule(*spec, nullptr, *config);
      if (!gralarm::ParseRuleJson(gralarm::RuleSpecToJson(*spec)).ok())
        std::abort();
      break;
    }
    case 1: {
      auto t = gralarm::ParseTemplateJson(text);
      if (t.ok() &&
          !gralarm::ParseTemplateJson(gralarm::TemplateSpecToJson(*t)).ok())
        std::abort();
      break;
    }
    case 2: {
      auto file = gralarm::ParseRuleFile(text, "fuzz.toml");
      if (!file.ok()) break;
      for (const gralarm::RuleSpec& spec : file->rules)
        (void)gralarm::ResolveRule(spec, nullptr, *config);
      break;
    }
    case 3:
      (void)gralarm::ParseConfig(text, "fuzz.toml");
      break;
    case 4: {
      auto change = gralarm::ParseBulkRuleChange(text);
      if (!change.ok()) break;
      static const gralarm::RuleSpec rule = *gralarm::ParseRuleJson(
          R"({"id": "r", "pattern": "a.*", "thresholds": {"warning": 1}})");
      auto changed = gralarm::ApplyBulkRuleChange(rule, change->set);
      if (changed.ok()) (void)gralarm::ResolveRule(*changed, nullptr, *config);
      break;
    }
    case 5: {
      auto records = gralarm::ParseReplicatedRecords(text);
      if (!records.ok()) break;
      nlohmann::json out = {{"records", nlohmann::json::array()}};
      for (const gralarm::ReplicatedRecord& r : *records) {
        out["records"].push_back(gralarm::ReplicatedRecordJson(r));
      }
      if (!gralarm::ParseReplicatedRecords(out.dump()).ok()) std::abort();
      break;
    }
  }
  return 0;
}
