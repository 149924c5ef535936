#ifndef GRALARM_NOTIFY_GROUPS_H_
#define GRALARM_NOTIFY_GROUPS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gralarm/config.h"
#include "gralarm/store.h"

namespace gralarm {

// One alert of a group message: the latest outbox record of the alert, and
// every outbox record it stands for (removed once the message is delivered).
struct GroupedAlert {
  // The alert's latest record, with `replaces` set to the label set the
  // receiver was last told when that is not the one it is told now.
  OutboxRecord record;
  std::vector<uint64_t> seqs;  // oldest first
  // The level the receiver last knew ("" when the alert is new to it).
  std::string known;
  int64_t first_created_ms = 0;
  std::string group;  // the key of its group
};

// One message of a grouped channel: the changed alerts of one group, or of
// every due group at once (a digest, past the channel's max_per_minute).
struct GroupMessage {
  std::string group_key;  // e.g. {}:{alertname="cpu"}; a digest: {}/digest:{}
  std::map<std::string, std::string> group_labels;
  bool digest = false;
  std::vector<GroupedAlert> alerts;
  // Changed alerts of the group(s) that did not fit (kMaxAlerts): they wait
  // for the group's next message.
  size_t truncated = 0;
  // The keys of the groups it carries alerts of.
  std::vector<std::string> groups;
};

// The group labels of an alert under `group_by` ("rule_id" is the alertname
// label; "..." takes every label; empty: no label, one group for all).
std::map<std::string, std::string> GroupLabelsOf(
    const AlertRecord& a, const std::vector<std::string>& group_by);
// Alertmanager's group key text: {}:{k="v", ...}.
std::string GroupKeyOf(const std::map<std::string, std::string>& labels);

// Groups, times and rate-limits the notifications of one grouped channel, as
// Alertmanager does for its receivers (see ChannelOptions): records are Add()ed
// as they are read from the outbox; Take() returns the next message due. Not
// thread-safe: the channel's worker alone uses it. Nothing here touches the
// store: the caller removes a message's seqs once it is delivered or refused,
// so a crash before then sends its alerts again after the restart.
class GroupBatcher {
 public:
  static constexpr size_t kMaxAlerts = 500;  // alerts a webhook message

  // Adds a record: it replaces an earlier record of the same alert (rule and
  // series) that was not sent yet, keeping what the receiver last knew.
  void Add(const OutboxRecord& r, const ChannelOptions& c, int64_t now);

  // The message due at `now`, if any; otherwise sets *next_ms to when one may
  // be due (unchanged when none is waiting). Each message taken counts
  // against c.max_per_minute. `max_alerts` caps the alerts of a message (0:
  // no cap).
  std::optional<GroupMessage> Take(const ChannelOptions& c, int64_t now,
                                   size_t max_alerts, int64_t* next_ms);
  // The message was delivered (or refused): its groups were notified now.
  void Done(const GroupMessage& m, int64_t now);
  // The message failed: its alerts go back to their groups, before any record
  // added since. Alerts first queued more than `expiry_ms` before `now` are
  // returned instead (to be dropped).
  std::vector<GroupedAlert> Failed(GroupMessage m, int64_t now,
                                   int64_t expiry_ms);

  bool empty() const { return pending_ == 0; }
  size_t pending() const { return pending_; }  // alerts waiting

 private:
  struct Group {
    std::map<std::string, std::string> labels;
    // Alerts waiting, by StateKey(rule, series), in the order they came.
    std::map<std::string, GroupedAlert> pending;
    std::deque<std::string> order;
    int64_t created_ms = 0;       // when it got its first alert
    int64_t last_sent_ms = 0;     // 0: never notified
    int64_t indexed_due_ms = -1;  // its entry in due_, if any
  };
  // Takes the channel's group_wait_s and group_interval_s (re-indexing every
  // group when they changed).
  void Configure(const ChannelOptions& c);
  int64_t DueMs(const Group& g) const;
  // Puts the group in due_ at its due time, or out of it when it has nothing
  // to say.
  void Index(const std::string& key, Group& g);
  void Merge(const std::string& group, Group& g, GroupedAlert a, bool older);
  // Moves up to `room` alerts of `g` into `m`.
  void MoveInto(Group& g, const std::string& key, size_t room, GroupMessage* m);
  // Forgets groups with nothing to say whose interval passed.
  void Forget(int64_t now);

  std::map<std::string, Group> groups_;
  // Groups with alerts waiting, by when they are due.
  std::set<std::pair<int64_t, std::string>> due_;
  size_t pending_ = 0;
  int64_t wait_ms_ = -1;
  int64_t interval_ms_ = -1;
  int64_t forgot_ms_ = 0;        // Forget() last ran then
  std::deque<int64_t> sends_;    // when messages were taken, last minute
  int64_t limited_ms_ = -1;      // a due message last waited for the limit
  int64_t last_digest_ms_ = -1;  // the last digest was taken then
};

}  // namespace gralarm

#endif  // GRALARM_NOTIFY_GROUPS_H_
