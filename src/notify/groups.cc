// Grouping, group timing and the rate limit of grouped channels.
#include <algorithm>
#include <iterator>

#include "gralarm/notify_groups.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;

// The level the receiver knew before `r` ("" when the alert is new to it).
std::string KnownBefore(const OutboxRecord& r) {
  if (r.reminder || r.status == "resolved") return r.alert.SeverityName();
  return r.replaces;
}

// The label set the receiver knew ends when the one it is told now differs.
std::string ReplacesFor(const std::string& known, const OutboxRecord& r) {
  return known.empty() || known == r.alert.SeverityName() ? "" : known;
}

}  // namespace

std::map<std::string, std::string> GroupLabelsOf(
    const AlertRecord& a, const std::vector<std::string>& group_by) {
  std::map<std::string, std::string> all = a.labels;
  all["alertname"] = a.rule_id;
  all["severity"] = a.SeverityName();
  all["series"] = a.series;
  std::map<std::string, std::string> out;
  for (const std::string& name : group_by) {
    if (name == "...") return all;
    const std::string& label = name == "rule_id" ? "alertname" : name;
    auto it = all.find(label);
    if (it != all.end()) out[label] = it->second;
  }
  return out;
}

std::string GroupKeyOf(const std::map<std::string, std::string>& labels) {
  std::string key = "{}:{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    key += StrCat(first ? "" : ", ", k, "=\"", v, "\"");
    first = false;
  }
  return key + "}";
}

void GroupBatcher::Configure(const ChannelOptions& c) {
  const int64_t wait = c.group_wait_s * 1000;
  const int64_t interval = c.group_interval_s * 1000;
  if (wait == wait_ms_ && interval == interval_ms_) return;
  wait_ms_ = wait;
  interval_ms_ = interval;
  for (auto& [key, g] : groups_) Index(key, g);
}

int64_t GroupBatcher::DueMs(const Group& g) const {
  return g.last_sent_ms == 0 ? g.created_ms + wait_ms_
                             : g.last_sent_ms + interval_ms_;
}

void GroupBatcher::Index(const std::string& key, Group& g) {
  if (g.indexed_due_ms >= 0) due_.erase({g.indexed_due_ms, key});
  g.indexed_due_ms = -1;
  if (g.pending.empty()) return;
  g.indexed_due_ms = DueMs(g);
  due_.emplace(g.indexed_due_ms, key);
}

void GroupBatcher::Add(const OutboxRecord& r, const ChannelOptions& c,
                       int64_t now) {
  static const std::vector<std::string> kNone;
  Configure(c);
  auto labels = GroupLabelsOf(r.alert, c.group_by ? *c.group_by : kNone);
  std::string key = GroupKeyOf(labels);
  auto [it, created] = groups_.try_emplace(key);
  Group& g = it->second;
  if (created) {
    g.labels = std::move(labels);
    g.created_ms = now;
  } else if (g.pending.empty() && g.last_sent_ms != 0 &&
             now >= g.last_sent_ms + interval_ms_) {
    // Quiet for a whole interval: it starts again as a new group.
    g.created_ms = now;
    g.last_sent_ms = 0;
  }
  GroupedAlert a;
  a.record = r;
  a.seqs = {r.seq};
  a.known = KnownBefore(r);
  a.first_created_ms = r.created_ms;
  a.group = key;
  Merge(key, g, std::move(a), /*older=*/false);
}

void GroupBatcher::Merge(const std::string& group, Group& g, GroupedAlert a,
                         bool older) {
  const std::string key =
      Store::StateKey(a.record.alert.rule_id, a.record.alert.series);
  auto it = g.pending.find(key);
  if (it == g.pending.end()) {
    a.record.replaces = ReplacesFor(a.known, a.record);
    g.pending.emplace(key, std::move(a));
    if (older) {
      g.order.push_front(key);
    } else {
      g.order.push_back(key);
    }
    ++pending_;
    if (g.pending.size() == 1) Index(group, g);
    return;
  }
  GroupedAlert& e = it->second;
  if (older) {
    a.seqs.insert(a.seqs.end(), e.seqs.begin(), e.seqs.end());
    e.seqs = std::move(a.seqs);
    e.known = std::move(a.known);
    e.first_created_ms = a.first_created_ms;
  } else {
    e.seqs.insert(e.seqs.end(), a.seqs.begin(), a.seqs.end());
    e.record = std::move(a.record);
  }
  e.record.replaces = ReplacesFor(e.known, e.record);
}

void GroupBatcher::MoveInto(Group& g, const std::string& key, size_t room,
                            GroupMessage* m) {
  m->groups.push_back(key);
  while (!g.order.empty() && (room == 0 || m->alerts.size() < room)) {
    auto it = g.pending.find(g.order.front());
    g.order.pop_front();
    m->alerts.push_back(std::move(it->second));
    g.pending.erase(it);
    --pending_;
  }
  m->truncated += g.order.size();
  Index(key, g);
}

void GroupBatcher::Forget(int64_t now) {
  if (now - forgot_ms_ < kMinuteMs) return;
  forgot_ms_ = now;
  for (auto it = groups_.begin(); it != groups_.end();) {
    const Group& g = it->second;
    if (g.pending.empty() &&
        (g.last_sent_ms == 0 || now >= g.last_sent_ms + interval_ms_)) {
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<GroupMessage> GroupBatcher::Take(const ChannelOptions& c,
                                               int64_t now, size_t max_alerts,
                                               int64_t* next_ms) {
  Configure(c);
  Forget(now);
  while (!sends_.empty() && sends_.front() <= now - kMinuteMs) {
    sends_.pop_front();
  }
  if (due_.empty()) return std::nullopt;
  if (due_.begin()->first > now) {
    *next_ms = std::min(*next_ms, due_.begin()->first);
    return std::nullopt;
  }
  if (c.max_per_minute > 0 &&
      static_cast<int64_t>(sends_.size()) >= c.max_per_minute) {
    limited_ms_ = now;
    *next_ms = std::min(*next_ms, sends_.front() + kMinuteMs);
    return std::nullopt;
  }
  // Within a minute of hitting the limit, every due group goes into one
  // digest, at most one a group_interval_s.
  const bool limited =
      c.max_per_minute > 0 && limited_ms_ >= 0 && now - limited_ms_ < kMinuteMs;
  GroupMessage m;
  if (limited) {
    const int64_t at =
        last_digest_ms_ < 0 ? now : last_digest_ms_ + interval_ms_;
    if (at > now) {
      *next_ms = std::min(*next_ms, at);
      return std::nullopt;
    }
    last_digest_ms_ = now;
    m.digest = due_.size() > 1 && std::next(due_.begin())->first <= now;
  }
  if (m.digest) {
    m.group_key = "{}/digest:{}";
    std::vector<std::string> keys;
    for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it) {
      keys.push_back(it->second);
    }
    for (const std::string& key : keys) {
      // A full digest leaves the rest for the next one: a group it did not
      // carry keeps its place instead of waiting a whole interval.
      if (max_alerts != 0 && m.alerts.size() >= max_alerts) break;
      MoveInto(groups_[key], key, max_alerts, &m);
    }
  } else {
    const std::string key = due_.begin()->second;
    Group& g = groups_[key];
    m.group_key = key;
    m.group_labels = g.labels;
    MoveInto(g, key, max_alerts, &m);
  }
  sends_.push_back(now);
  if (c.max_per_minute > 0 &&
      static_cast<int64_t>(sends_.size()) >= c.max_per_minute) {
    limited_ms_ = now;
  }
  return m;
}

void GroupBatcher::Done(const GroupMessage& m, int64_t now) {
  for (const std::string& key : m.groups) {
    auto it = groups_.find(key);
    if (it == groups_.end()) continue;
    it->second.last_sent_ms = now;
    Index(key, it->second);
  }
}

std::vector<GroupedAlert> GroupBatcher::Failed(GroupMessage m, int64_t now,
                                               int64_t expiry_ms) {
  std::vector<GroupedAlert> expired;
  for (auto it = m.alerts.rbegin(); it != m.alerts.rend(); ++it) {
    if (now - it->first_created_ms > expiry_ms) {
      expired.push_back(std::move(*it));
      continue;
    }
    auto [g, created] = groups_.try_emplace(it->group);
    if (created) g->second.created_ms = now;
    const std::string key = it->group;
    Merge(key, g->second, std::move(*it), /*older=*/true);
  }
  return expired;
}

}  // namespace gralarm
