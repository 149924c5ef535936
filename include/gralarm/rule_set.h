#ifndef GRALARM_RULE_SET_H_
#define GRALARM_RULE_SET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "gralarm/rule.h"

namespace gralarm {

// A stored (API) rule that is not in force: it does not parse, does not
// resolve against the config and templates (it names a schedule, channel or
// template that no longer exists), or its id is taken by a rule file. It
// evaluates nothing until it is changed or deleted through the API, or the
// config gives back what it names.
struct InvalidRule {
  std::string id;      // empty when the stored JSON has no usable id
  std::string json;    // the rule as stored
  std::string field;   // the field at fault, when one is
  std::string reason;  // e.g. "channels: unknown channel \"pager\""
  // True when a rule file defines the same id (that rule is in force).
  bool shadowed = false;
};

// An immutable set of resolved rules with the index that finds the rules
// matching a metric name: exact patterns by hash, globs by a trie over
// dot-separated segments (literal segments by hash, wildcard segments tried in
// turn), so the cost of a match follows the shape of the name, not the number
// of rules. Disabled rules are kept but never match. Safe to share between
// threads.
class RuleSet {
 public:
  using Matches = absl::InlinedVector<uint32_t, 8>;

  static std::shared_ptr<const RuleSet> Build(
      std::vector<std::shared_ptr<const Rule>> rules, uint64_t generation,
      std::map<std::string, TemplateSpec> templates = {},
      std::vector<InvalidRule> invalid = {},
      std::vector<std::string> warnings = {});

  // Indexes into rules() of the enabled rules whose pattern matches `name` (the
  // metric name without tags), ascending, each once. Target rules are never
  // among them.
  void Match(std::string_view name, Matches* out) const;
  // Indexes into rules() of the enabled target rules with a path of their
  // target matching `name` (an input of theirs), ascending, each once.
  void MatchTargets(std::string_view name, Matches* out) const;
  // Whether any enabled rule is a target rule.
  bool has_targets() const { return has_targets_; }

  const std::vector<std::shared_ptr<const Rule>>& rules() const {
    return rules_;
  }
  // The rule with that id, or null.
  std::shared_ptr<const Rule> Find(std::string_view id) const;
  // The templates in force, by name.
  const std::map<std::string, TemplateSpec>& templates() const {
    return templates_;
  }
  const TemplateSpec* FindTemplate(std::string_view name) const {
    auto it = templates_.find(std::string(name));
    return it == templates_.end() ? nullptr : &it->second;
  }
  // Stored rules left out of force, by id.
  const std::vector<InvalidRule>& invalid() const { return invalid_; }
  // The invalid rule with that id that no rule in force shadows, or null.
  const InvalidRule* FindInvalid(std::string_view id) const;
  // One line for each problem met while loading that did not stop the load
  // (an invalid stored rule, a stored template a rule file overrides...).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Changes whenever the set of rules changes.
  uint64_t generation() const { return generation_; }

 private:
  // Globs to the rules they belong to: exact names by hash, the others in a
  // trie over dot-separated segments.
  class GlobIndex {
   public:
    GlobIndex() { nodes_.emplace_back(); }
    void Add(const Glob& glob, uint32_t rule);
    // Appends the rules of every glob matching `name` (unsorted, repeats).
    void Match(std::string_view name, Matches* out) const;

   private:
    struct Node {
      absl::flat_hash_map<std::string, uint32_t>
          literal;  // segment -> child node
      std::vector<std::pair<SegmentGlob, uint32_t>> globs;
      // Glob children by the literal text before their first wildcard: a
      // segment only tries the globs whose prefix it starts with.
      absl::flat_hash_map<std::string, std::vector<uint32_t>> globs_by_prefix;
      size_t longest_prefix = 0;
      std::vector<uint32_t> rules;  // rules whose pattern ends here
    };
    uint32_t Child(uint32_t node, const SegmentGlob& segment);
    void Walk(uint32_t node, const std::vector<std::string_view>& segments,
              size_t depth, Matches* out) const;

    absl::flat_hash_map<std::string, std::vector<uint32_t>> exact_;
    std::vector<Node> nodes_;
  };

  std::vector<std::shared_ptr<const Rule>> rules_;
  absl::flat_hash_map<std::string, uint32_t> by_id_;
  GlobIndex patterns_;  // pattern rules
  GlobIndex targets_;   // target rules, by the paths of their targets
  bool has_targets_ = false;
  uint64_t generation_ = 0;
  std::map<std::string, TemplateSpec> templates_;
  std::vector<InvalidRule> invalid_;
  std::vector<std::string> warnings_;
};

}  // namespace gralarm

#endif  // GRALARM_RULE_SET_H_
