#include "gralarm/rule_set.h"

#include <algorithm>

#include "gralarm/strings.h"

namespace gralarm {

std::shared_ptr<const RuleSet> RuleSet::Build(
    std::vector<std::shared_ptr<const Rule>> rules, uint64_t generation,
    std::map<std::string, TemplateSpec> templates,
    std::vector<InvalidRule> invalid, std::vector<std::string> warnings) {
  auto set = std::shared_ptr<RuleSet>(new RuleSet());
  set->generation_ = generation;
  set->templates_ = std::move(templates);
  set->invalid_ = std::move(invalid);
  set->warnings_ = std::move(warnings);
  set->rules_ = std::move(rules);
  for (uint32_t i = 0; i < set->rules_.size(); ++i) {
    const Rule& rule = *set->rules_[i];
    set->by_id_[rule.spec.id] = i;
    if (!rule.enabled) continue;
    if (rule.is_target()) {
      set->has_targets_ = true;
      for (const Glob& g : rule.target->globs) set->targets_.Add(g, i);
    } else {
      set->patterns_.Add(rule.glob, i);
    }
  }
  return set;
}

void RuleSet::GlobIndex::Add(const Glob& glob, uint32_t rule) {
  if (glob.exact()) {
    auto& here = exact_[glob.pattern()];
    if (std::find(here.begin(), here.end(), rule) == here.end())
      here.push_back(rule);
    return;
  }
  for (const auto& expansion : glob.expansions()) {
    uint32_t node = 0;
    for (const SegmentGlob& segment : expansion) node = Child(node, segment);
    auto& here = nodes_[node].rules;
    if (std::find(here.begin(), here.end(), rule) == here.end())
      here.push_back(rule);
  }
}

uint32_t RuleSet::GlobIndex::Child(uint32_t node, const SegmentGlob& segment) {
  if (segment.literal()) {
    auto it = nodes_[node].literal.find(segment.text());
    if (it != nodes_[node].literal.end()) return it->second;
    uint32_t child = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
    nodes_[node].literal.emplace(segment.text(), child);
    return child;
  }
  for (const auto& [glob, child] : nodes_[node].globs) {
    if (glob.text() == segment.text()) return child;
  }
  uint32_t child = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();
  Node& n = nodes_[node];
  const std::string& text = segment.text();
  const std::string prefix = text.substr(0, text.find_first_of("*?["));
  n.globs_by_prefix[prefix].push_back(static_cast<uint32_t>(n.globs.size()));
  n.longest_prefix = std::max(n.longest_prefix, prefix.size());
  n.globs.emplace_back(segment, child);
  return child;
}

void RuleSet::GlobIndex::Walk(uint32_t node,
                              const std::vector<std::string_view>& segments,
                              size_t depth, Matches* out) const {
  const Node& n = nodes_[node];
  if (depth == segments.size()) {
    out->insert(out->end(), n.rules.begin(), n.rules.end());
    return;
  }
  const std::string_view segment = segments[depth];
  if (!n.literal.empty()) {
    auto it = n.literal.find(AbslView(segment));
    if (it != n.literal.end()) Walk(it->second, segments, depth + 1, out);
  }
  if (n.globs.empty()) return;
  const size_t longest = std::min(n.longest_prefix, segment.size());
  for (size_t len = 0; len <= longest; ++len) {
    auto it = n.globs_by_prefix.find(AbslView(segment.substr(0, len)));
    if (it == n.globs_by_prefix.end()) continue;
    for (uint32_t g : it->second) {
      const auto& [glob, child] = n.globs[g];
      if (glob.Matches(segment)) Walk(child, segments, depth + 1, out);
    }
  }
}

void RuleSet::GlobIndex::Match(std::string_view name, Matches* out) const {
  if (!exact_.empty()) {
    if (auto it = exact_.find(AbslView(name)); it != exact_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
    }
  }
  if (nodes_.size() > 1) {
    thread_local std::vector<std::string_view> segments;
    SplitSegments(name, &segments);
    Walk(0, segments, 0, out);
  }
}

namespace {

void SortUnique(RuleSet::Matches* out) {
  if (out->size() > 1) {
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
  }
}

}  // namespace

void RuleSet::Match(std::string_view name, Matches* out) const {
  out->clear();
  patterns_.Match(name, out);
  SortUnique(out);
}

void RuleSet::MatchTargets(std::string_view name, Matches* out) const {
  out->clear();
  if (!has_targets_) return;
  targets_.Match(name, out);
  SortUnique(out);
}

const InvalidRule* RuleSet::FindInvalid(std::string_view id) const {
  for (const InvalidRule& r : invalid_) {
    if (!r.shadowed && !r.id.empty() && r.id == id) return &r;
  }
  return nullptr;
}

std::shared_ptr<const Rule> RuleSet::Find(std::string_view id) const {
  auto it = by_id_.find(AbslView(id));
  return it == by_id_.end() ? nullptr : rules_[it->second];
}

}  // namespace gralarm
