#ifndef GRALARM_NET_ADDRESS_H_
#define GRALARM_NET_ADDRESS_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace gralarm {

// A "host:port" or "[v6]:port" split into its parts. The host is not resolved.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Splits "host:port", "[::1]:port" or ":port" (host defaults to 0.0.0.0).
absl::StatusOr<HostPort> ParseHostPort(std::string_view text);

// Resolves a host (numeric or a name) and port into a socket address.
absl::StatusOr<sockaddr_storage> ResolveHostPort(const HostPort& hp);

// True when the host is a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(std::string_view host);

// "ip:port" of a socket address, for logs.
std::string SockaddrToString(const sockaddr* addr);

}  // namespace gralarm

#endif  // GRALARM_NET_ADDRESS_H_
