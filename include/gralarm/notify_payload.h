#ifndef GRALARM_NOTIFY_PAYLOAD_H_
#define GRALARM_NOTIFY_PAYLOAD_H_

#include <string>
#include <vector>

#include "gralarm/config.h"
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
// The same for a re-send of alerts still active (no endsAt).
std::string AlertmanagerPayload(const std::vector<AlertRecord>& active,
                                const Config& config);

// The argv of a command channel for one record: each argument of
// `channel.command` with its placeholders replaced, in one pass (a value that
// contains a placeholder's text is not substituted again): {status} (firing or
// resolved), {from}, {to} (see LevelsOf), {severity} (the alert's level; on a
// clear, the level it had), {series}, {value}, {rule} (the rule id) and
// {phones} (comma-separated). Other text, braces included, is kept as is.
std::vector<std::string> CommandArgs(const ChannelOptions& channel,
                                     const OutboxRecord& r);

}  // namespace gralarm

#endif  // GRALARM_NOTIFY_PAYLOAD_H_
