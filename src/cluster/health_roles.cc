// This node's role in the pair, from what its polls saw of the peers.
#include <algorithm>

#include "gralarm/cluster_health.h"
#include "gralarm/http_client.h"
#include "gralarm/strings.h"

namespace gralarm {

PeerRoles::PeerRoles(std::string self_id,
                     const std::vector<std::string>& peer_apis,
                     int64_t failover_ms, int64_t start_ms)
    : self_id_(std::move(self_id)), failover_ms_(failover_ms) {
  for (const std::string& api : peer_apis) {
    Peer p;
    p.api = RedactUrl(api);
    p.down_since_ms = start_ms;
    peers_.push_back(std::move(p));
  }
}

void PeerRoles::Answered(size_t i, std::string node_id, int64_t now) {
  Peer& p = peers_[i];
  if (!p.up) p.up_since_ms = now;
  p.up = true;
  p.node_id = std::move(node_id);
}

void PeerRoles::Unreachable(size_t i, int64_t now) {
  Peer& p = peers_[i];
  if (p.up) p.down_since_ms = now;
  p.up = false;
}

bool PeerRoles::Lower(size_t i) const {
  const Peer& p = peers_[i];
  return p.node_id.empty() || p.node_id < self_id_;
}

bool PeerRoles::Dead(size_t i, int64_t now) const {
  const Peer& p = peers_[i];
  return !p.up && now - p.down_since_ms >= failover_ms_;
}

int PeerRoles::ActivePeer(int64_t now) const {
  int best = -1;
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (!Lower(i) || Dead(i, now)) continue;
    // An unknown node_id ("") sorts first: it may be the lowest.
    if (best < 0 ||
        peers_[i].node_id < peers_[static_cast<size_t>(best)].node_id)
      best = static_cast<int>(i);
  }
  return best;
}

bool PeerRoles::Active(int64_t now, std::string* reason) const {
  const int a = ActivePeer(now);
  if (a >= 0) {
    if (reason != nullptr) {
      const Peer& p = peers_[static_cast<size_t>(a)];
      if (p.node_id.empty()) {
        *reason = StrCat("peer ", p.api,
                         " has not answered yet and may have a lower node_id "
                         "(dead after ",
                         failover_ms_ / 1000, " s unreachable)");
      } else if (!p.up) {
        *reason = StrCat("peer ", p.node_id, " (", p.api,
                         ") has a lower node_id and is unreachable for less "
                         "than ",
                         failover_ms_ / 1000, " s");
      } else {
        *reason = StrCat("peer ", p.node_id, " (", p.api,
                         ") has a lower node_id and is alive");
      }
    }
    return false;
  }
  if (reason != nullptr) {
    std::string why;
    for (size_t i = 0; i < peers_.size(); ++i) {
      const Peer& p = peers_[i];
      if (!why.empty()) why += "; ";
      if (!Lower(i)) {
        why +=
            StrCat("peer ", p.node_id, " (", p.api, ") has a higher node_id");
      } else {
        why +=
            StrCat("peer ", p.node_id.empty() ? "?" : p.node_id, " (", p.api,
                   ") unreachable for ", (now - p.down_since_ms) / 1000, " s");
      }
    }
    *reason = why.empty() ? "no peers" : why;
  }
  return true;
}

HeldFate PeerRoles::Fate(int64_t created_ms, int64_t now) const {
  const int a = ActivePeer(now);
  if (a < 0) return HeldFate::kHold;  // this node is active: it sends
  const Peer& p = peers_[static_cast<size_t>(a)];
  if (!p.up || p.node_id.empty()) return HeldFate::kHold;
  const int64_t from = std::max(created_ms, p.up_since_ms);
  return now - from >= failover_ms_ + kDropMarginMs ? HeldFate::kDrop
                                                    : HeldFate::kHold;
}

}  // namespace gralarm
