// A loopback connect is complete before the service accepts it: it waits in the listener's
// accept queue, and one beyond the listen backlog is dropped and retried a second later. The
// relay's joins and its pool pace their connects by that queue, read here over sock_diag.
#include "listener.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <unistd.h>

namespace relay {

bool AcceptQueue(const sockaddr_storage& target, uint32_t* queued, uint32_t* limit) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return false;
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req.sdiag_family = static_cast<uint8_t>(target.ss_family);
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1u << 10;  // TCP_LISTEN
  uint16_t port = target.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&target)->sin_port
                                              : reinterpret_cast<const sockaddr_in6*>(&target)->sin6_port;
  bool found = false;
  if (send(fd, &msg, sizeof msg, 0) == static_cast<ssize_t>(sizeof msg)) {
    alignas(nlmsghdr) char buf[16384];
    for (bool more = true; more;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          more = false;
          break;
        }
        auto* d = static_cast<inet_diag_msg*>(NLMSG_DATA(h));
        // the listener on that port (bound to the address, or to any): the fullest one counts
        if (d->id.idiag_sport != port) continue;
        if (!found || d->idiag_rqueue > *queued) {
          *queued = d->idiag_rqueue;
          *limit = d->idiag_wqueue;
        }
        found = true;
      }
    }
  }
  close(fd);
  return found;
}

uint32_t AcceptQueueRoom(const sockaddr_storage& target, uint32_t share, uint32_t notListening) {
  uint32_t queued = 0, limit = 0;
  if (!AcceptQueue(target, &queued, &limit)) return notListening;
  uint32_t room = limit / share;
  return queued < room ? room - queued : 0;
}

}  // namespace relay
