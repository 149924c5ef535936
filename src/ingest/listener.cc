#include "gralarm/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gralarm/net_address.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

// `shared` sets SO_REUSEPORT so that every loop can bind the same address.
absl::StatusOr<int> BindOne(const sockaddr_storage& addr, int type,
                            const std::string& what, bool shared = true) {
  int fd = socket(addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return absl::InternalError(StrCat(what, ": socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (shared) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (type == SOCK_DGRAM) {
    int size = 8 << 20;  // room for bursts; the kernel caps it at rmem_max
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  socklen_t len =
      addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        StrCat("cannot listen on ", what, ": ", strerror(err)));
  }
  if (type == SOCK_STREAM && listen(fd, 1024) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        StrCat("cannot listen on ", what, ": ", strerror(err)));
  }
  return fd;
}

void SetPort(sockaddr_storage* addr, uint16_t port) {
  if (addr->ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(addr)->sin_port = htons(port);
  }
}

}  // namespace

absl::StatusOr<ListenSockets> OpenListenSockets(const std::string& listen,
                                                int count, bool with_udp) {
  auto hp = ParseHostPort(listen);
  if (!hp.ok()) return hp.status();
  auto addr = ResolveHostPort(*hp);
  if (!addr.ok()) return addr.status();
  ListenSockets out;
  if (hp->port != 0) {
    // SO_REUSEPORT would let a second gralarm share the port with a stale one
    // and silently split the traffic: first prove the address is free.
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      if (type == SOCK_DGRAM && !with_udp) continue;
      auto probe =
          BindOne(*addr, type, type == SOCK_DGRAM ? listen + " (udp)" : listen,
                  /*shared=*/false);
      if (!probe.ok()) return probe.status();
      close(*probe);
    }
  }
  for (int i = 0; i < count; ++i) {
    auto fd = BindOne(*addr, SOCK_STREAM, listen);
    if (!fd.ok()) {
      CloseListenSockets(&out);
      return fd.status();
    }
    out.tcp_fds.push_back(*fd);
    if (i == 0 && hp->port == 0) {
      sockaddr_storage bound{};
      socklen_t len = sizeof(bound);
      getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &len);
      uint16_t port =
          ntohs(bound.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      SetPort(&*addr, port);
    }
  }
  for (int i = 0; with_udp && i < count; ++i) {
    auto fd = BindOne(*addr, SOCK_DGRAM, listen + " (udp)");
    if (!fd.ok()) {
      CloseListenSockets(&out);
      return fd.status();
    }
    out.udp_fds.push_back(*fd);
  }
  out.address = SockaddrToString(reinterpret_cast<const sockaddr*>(&*addr));
  out.port = static_cast<uint16_t>(
      ntohs(addr->ss_family == AF_INET6
                ? reinterpret_cast<const sockaddr_in6*>(&*addr)->sin6_port
                : reinterpret_cast<const sockaddr_in*>(&*addr)->sin_port));
  return out;
}

void CloseListenSockets(ListenSockets* sockets) {
  for (int fd : sockets->tcp_fds) close(fd);
  for (int fd : sockets->udp_fds) close(fd);
  sockets->tcp_fds.clear();
  sockets->udp_fds.clear();
}

}  // namespace gralarm
