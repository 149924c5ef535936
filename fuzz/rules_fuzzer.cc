// libFuzzer target: the rule parsers. The first byte picks the parser (rule
// JSON, template JSON, rule file TOML, config TOML); a rule that parses is also
// resolved, and its JSON must parse back.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gralarm/config.h"
#include "gralarm/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  static const std::shared_ptr<const gralarm::Config> config =
      *gralarm::ParseConfig("", "fuzz.toml");
  switch (data[0] % 4) {
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
  }
  return 0;
}
