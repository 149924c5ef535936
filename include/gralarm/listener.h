#ifndef GRALARM_LISTENER_H_
#define GRALARM_LISTENER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gralarm {

// Listening sockets on one address, one set per ingest loop, bound with
// SO_REUSEPORT so that the kernel spreads connections and datagrams over the
// loops.
struct ListenSockets {
  std::vector<int> tcp_fds;
  std::vector<int> udp_fds;  // empty unless asked for
  uint16_t port = 0;         // the bound port (useful with ":0")
  std::string address;       // "host:port" with the bound port
};

// Binds `count` TCP sockets (and as many UDP ones when `with_udp`) on `listen`
// ("host:port"; port 0 picks a free one shared by all). Errors name the
// address.
absl::StatusOr<ListenSockets> OpenListenSockets(const std::string& listen,
                                                int count, bool with_udp);

// Closes every descriptor still held.
void CloseListenSockets(ListenSockets* sockets);

}  // namespace gralarm

#endif  // GRALARM_LISTENER_H_
