// Grouping, group timing and the rate limit of grouped channels.
#include <algorithm>
#include <limits>

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

void GroupBatcher::Add(const OutboxRecord& r, const ChannelOptions& c,
                       int64_t now) {
  static const std::vector<std::string> kNone;
  auto labels = GroupLabelsOf(r.alert, c.group_by ? *c.group_by : kNone);
  std::string key = GroupKeyOf(labels);
  auto [it, created] = groups_.try_emplace(key);
  Group& g = it->second;
  if (created) {
    g.labels = std::move(labels);
    g.created_ms = now;
  }
  GroupedAlert a;
  a.record = r;
  a.seqs = {r.seq};
  a.known = KnownBefore(r);
  a.first_created_ms = r.created_ms;
  a.group = std::move(key);
  Merge(g, std::move(a), /*older=*/false);
}

void GroupBatcher::Merge(Group& g, GroupedAlert a, bool older) {
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

int64_t GroupBatcher::DueMs(const Group& g, const ChannelOptions& c) const {
  return g.last_sent_ms == 0 ? g.created_ms + c.group_wait_s * 1000
                             : g.last_sent_ms + c.group_interval_s * 1000;
}

void GroupBatcher::MoveInto(Group& g, const std::string& key, size_t room,
                            GroupMessage* m) {
  m->groups.push_back(key);
  while (!g.order.empty() && (room == 0 || m->alerts.size() < room)) {
    auto it = g.pending.find(g.order.front());
    g.order.pop_front();
    m->alerts.push_back(std::move(it->second));
    g.pending.erase(it);
  }
  m->truncated += g.order.size();
}

std::optional<GroupMessage> GroupBatcher::Take(const ChannelOptions& c,
                                               int64_t now, size_t max_alerts,
                                               int64_t* next_ms) {
  while (!sends_.empty() && sends_.front() <= now - kMinuteMs) {
    sends_.pop_front();
  }
  // Due groups, earliest first; groups with nothing to say and past their
  // interval are forgotten (their next alert starts a new group).
  std::vector<std::pair<int64_t, std::string>> due;
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = it->second;
    if (g.pending.empty()) {
      if (g.last_sent_ms == 0 || now >= DueMs(g, c)) {
        groups_.erase(it++);
      } else {
        ++it;
      }
      continue;
    }
    const int64_t at = DueMs(g, c);
    if (at <= now) {
      due.emplace_back(at, it->first);
    } else {
      *next_ms = std::min(*next_ms, at);
    }
    ++it;
  }
  if (due.empty()) return std::nullopt;
  std::sort(due.begin(), due.end());
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
        last_digest_ms_ < 0 ? now : last_digest_ms_ + c.group_interval_s * 1000;
    if (at > now) {
      *next_ms = std::min(*next_ms, at);
      return std::nullopt;
    }
    last_digest_ms_ = now;
    m.digest = due.size() > 1;
  }
  if (m.digest) {
    m.group_key = "{}/digest:{}";
    for (const auto& [at, key] : due) {
      MoveInto(groups_[key], key, max_alerts, &m);
    }
  } else {
    const std::string& key = due.front().second;
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
    if (it != groups_.end()) it->second.last_sent_ms = now;
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
    Merge(g->second, std::move(*it), /*older=*/true);
  }
  return expired;
}

bool GroupBatcher::empty() const { return pending() == 0; }

size_t GroupBatcher::pending() const {
  size_t n = 0;
  for (const auto& [key, g] : groups_) n += g.pending.size();
  return n;
}

}  // namespace gralarm
