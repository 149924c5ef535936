#ifndef GRALARM_NOTIFY_PAYLOAD_H_
#define GRALARM_NOTIFY_PAYLOAD_H_

#include <string>
#include <vector>

#include "gralarm/config.h"
#include "gralarm/notify_groups.h"
#include "gralarm/store.h"

namespace gralarm {

// What a notification tells its receiver, from the receiver's point of view:
// `from` is the level it was last told ("ok" when the alert is new to it),
// `to` the level now ("ok" on a clear). Levels are warning, major, critical
// or nodata. A reminder has from == to.
struct NotifiedLevels {
  std::string from;
  std::string to;
};
NotifiedLevels LevelsOf(const OutboxRecord& r);

// Alertmanager's webhook format, version "4", for one alert.
std::string WebhookPayload(const OutboxRecord& r, const Config& config);
// The body of POST <alertmanager>/api/v2/alerts for one alert. Both formats
// add the label set the record `replaces`, ended, when the severity changed.
std::string AlertmanagerPayload(const OutboxRecord& r, const Config& config);
// The same for every alert of a grouped message, in one body.
std::string AlertmanagerPayload(const GroupMessage& m, const Config& config);
// The same for a re-send of alerts still active (no endsAt).
std::string AlertmanagerPayload(const std::vector<AlertRecord>& active,
                                const Config& config);

// The argv of a command channel for one record: each argument of
// `channel.command` with its placeholders replaced, in one pass (a value that
// contains a placeholder's text is not substituted again): {status} (firing or
// resolved), {from}, {to} (see LevelsOf), {severity} (the alert's level; on a
// clear, the level it had), {series}, {value}, {rule} (the rule id) and
// {phones} (comma-separated), {flapping} ("flapping" when the notification
// says the series is flapping, else empty), {forecast} (a forecast rule's
// alert: the forecast that raised it, else empty). Other text, braces
// included, is kept as is.
std::vector<std::string> CommandArgs(const ChannelOptions& channel,
                                     const OutboxRecord& r);

// Alertmanager's webhook format, version "4", for one message of a grouped
// channel: every alert of the message (firing first, the most severe first,
// then resolved), with the label set each replaces; groupKey and groupLabels
// of its group (a digest: "{}/digest:{}" and no group labels), commonLabels
// and commonAnnotations shared by all its alerts, truncatedAlerts the alerts
// of its group(s) left for the next message.
std::string GroupWebhookPayload(const GroupMessage& m,
                                const std::string& channel,
                                const Config& config);
// "12 critical, 3 resolved: cgnat-ethtrunk-util on MXULPPS1, ...": the
// message's alerts counted by level (firing, the most severe first) and
// resolved, then the first three named ("rule on series"), then ", ..." when
// there are more.
std::string GroupSummary(const GroupMessage& m);
// The argv of a command channel for a grouped message: {count} (alerts it
// tells of, truncated ones included), {firing}, {resolved}, {summary}
// (GroupSummary), {status} (firing when any alert fires), {phones}; the other
// placeholders of CommandArgs take the values of its first alert (the most
// severe firing one).
std::vector<std::string> GroupCommandArgs(const ChannelOptions& channel,
                                          const GroupMessage& m);

// The body of POST <graphite-web>/events/ for one transition (a
// graphite_events channel): {"what": "<rule name>: <from> -> <to>" (LevelsOf;
// cut to graphite-web's 255 characters), "tags": ["gralarm", "<rule id>",
// "<severity>"] (the alert's level; on a clear, the level it had), "data":
// "<series> = <value>", "when": <epoch seconds of the transition>} (so an
// event delivered late still lands where the transition happened).
std::string GraphiteEventPayload(const OutboxRecord& r);

}  // namespace gralarm

#endif  // GRALARM_NOTIFY_PAYLOAD_H_
