// The service address and the clients' neighbour entries, set over rtnetlink from the agent's
// own process: during a failover both are on the critical path, and an `ip` process for each
// took 15-40 ms to spawn on a loaded machine; a netlink request takes well under a millisecond.
//   addAddress(ifname, ip, prefixLen) -> true (added) | false (already there)
//   setNeighbours(ifname, [[ip, mac], ...]) -> entries set (NUD_STALE: used at once, confirmed
//   by the kernel on first use)
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace netlink {
namespace {

struct Failure {
  int err;
  std::string what;
};

// One request being built: header, fixed part, attributes (4-byte aligned).
class Request {
 public:
  Request(uint16_t type, uint16_t flags, uint32_t seq, const void* body, size_t len) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    h.nlmsg_seq = seq;
    Append(&h, sizeof h);
    Append(body, len);
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    Append(&a, sizeof a);
    Append(data, len);
  }
  // the finished message, its length set
  const std::vector<uint8_t>& Bytes() {
    reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return buf_;
  }

 private:
  // not inlined: GCC 12 inlines the vector's growth here and warns about bounds it cannot see
  __attribute__((noinline)) void Append(const void* p, size_t len) {
    size_t at = buf_.size();
    buf_.resize(NLMSG_ALIGN(at + len), 0);
    if (len > 0) memcpy(buf_.data() + at, p, len);
  }
  std::vector<uint8_t> buf_;
};

// Sends the requests (in chunks) and collects each one's acknowledgement: errors[i] is 0 or errno.
bool Exchange(std::vector<Request>& reqs, std::vector<int>& errors, Failure& fail) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    fail = {errno, "netlink socket"};
    return false;
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    fail = {errno, "netlink bind"};
    close(fd);
    return false;
  }
  errors.assign(reqs.size(), -1);
  constexpr size_t kChunk = 256;  // acknowledgements of a chunk fit the default receive buffer
  std::vector<uint8_t> in(64 * 1024);
  for (size_t first = 0; first < reqs.size(); first += kChunk) {
    size_t last = std::min(reqs.size(), first + kChunk);
    std::vector<uint8_t> out;
    for (size_t i = first; i < last; i++) {
      const auto& b = reqs[i].Bytes();
      out.insert(out.end(), b.begin(), b.end());
    }
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
      fail = {errno, "netlink send"};
      close(fd);
      return false;
    }
    size_t acked = 0;
    while (acked < last - first) {
      ssize_t n = recv(fd, in.data(), in.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail = {errno, "netlink receive"};
        close(fd);
        return false;
      }
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(in.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type != NLMSG_ERROR) continue;
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        uint32_t seq = h->nlmsg_seq;
        if (seq >= first && seq < last && errors[seq] == -1) {
          errors[seq] = -e->error;
          acked++;
        }
      }
    }
  }
  close(fd);
  return true;
}

bool ParseIp(const std::string& text, int& family, uint8_t* out) {
  if (inet_pton(AF_INET, text.c_str(), out) == 1) {
    family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) {
    family = AF_INET6;
    return true;
  }
  return false;
}

bool ParseMac(const std::string& text, uint8_t* out) {
  unsigned v[6];
  if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; i++) {
    if (v[i] > 255) return false;
    out[i] = static_cast<uint8_t>(v[i]);
  }
  return true;
}

Napi::Value Throw(Napi::Env env, const std::string& what, int err) {
  auto e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

int IfIndex(Napi::Env env, const std::string& ifname) {
  unsigned i = if_nametoindex(ifname.c_str());
  if (i == 0) Throw(env, ifname, errno);
  return static_cast<int>(i);
}

Napi::Value AddAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "addAddress(ifname, ip, prefixLen)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  std::string ip = info[1].As<Napi::String>().Utf8Value();
  int family = 0;
  uint8_t addr[16];
  if (!ParseIp(ip, family, addr)) {
    Napi::TypeError::New(env, "addAddress: not an IP address: " + ip).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int ifindex = IfIndex(env, ifname);
  if (ifindex == 0) return env.Undefined();
  ifaddrmsg m{};
  m.ifa_family = static_cast<uint8_t>(family);
  m.ifa_prefixlen = static_cast<uint8_t>(info[2].As<Napi::Number>().Uint32Value());
  m.ifa_scope = RT_SCOPE_UNIVERSE;
  m.ifa_index = static_cast<uint32_t>(ifindex);
  size_t alen = family == AF_INET ? 4 : 16;
  std::vector<Request> reqs;
  reqs.emplace_back(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 0, &m, sizeof m);
  reqs[0].Attr(IFA_LOCAL, addr, alen);
  reqs[0].Attr(IFA_ADDRESS, addr, alen);
  if (family == AF_INET6) {
    uint32_t flags = IFA_F_NODAD;  // the address is ours now: no duplicate detection delay
    reqs[0].Attr(IFA_FLAGS, &flags, sizeof flags);
  }
  std::vector<int> errors;
  Failure fail{0, ""};
  if (!Exchange(reqs, errors, fail)) return Throw(env, "addAddress: " + fail.what, fail.err);
  if (errors[0] == EEXIST) return Napi::Boolean::New(env, false);
  if (errors[0] != 0) return Throw(env, "addAddress " + ip + " on " + ifname, errors[0]);
  return Napi::Boolean::New(env, true);
}

Napi::Value SetNeighbours(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
    Napi::TypeError::New(env, "setNeighbours(ifname, [[ip, mac], ...])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  int ifindex = IfIndex(env, ifname);
  if (ifindex == 0) return env.Undefined();
  auto list = info[1].As<Napi::Array>();
  std::vector<Request> reqs;
  std::vector<std::string> names;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsArray() || item.As<Napi::Array>().Length() != 2) {
      Napi::TypeError::New(env, "setNeighbours: each entry is [ip, mac]").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string ip = item.As<Napi::Array>().Get(0u).ToString().Utf8Value();
    std::string mac = item.As<Napi::Array>().Get(1u).ToString().Utf8Value();
    int family = 0;
    uint8_t addr[16];
    uint8_t ll[6];
    if (!ParseIp(ip, family, addr) || !ParseMac(mac, ll)) {
      Napi::TypeError::New(env, "setNeighbours: bad entry " + ip + " " + mac).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ndmsg m{};
    m.ndm_family = static_cast<uint8_t>(family);
    m.ndm_ifindex = ifindex;
    m.ndm_state = NUD_STALE;
    reqs.emplace_back(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, i, &m, sizeof m);
    reqs.back().Attr(NDA_DST, addr, family == AF_INET ? 4 : 16);
    reqs.back().Attr(NDA_LLADDR, ll, 6);
    names.push_back(ip);
  }
  if (reqs.empty()) return Napi::Number::New(env, 0);
  std::vector<int> errors;
  Failure fail{0, ""};
  if (!Exchange(reqs, errors, fail)) return Throw(env, "setNeighbours: " + fail.what, fail.err);
  for (size_t i = 0; i < errors.size(); i++)
    if (errors[i] != 0) return Throw(env, "setNeighbours " + names[i] + " on " + ifname, errors[i]);
  return Napi::Number::New(env, static_cast<double>(reqs.size()));
}

}  // namespace

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("addAddress", Napi::Function::New(env, AddAddress, "addAddress"));
  exports.Set("setNeighbours", Napi::Function::New(env, SetNeighbours, "setNeighbours"));
}

}  // namespace netlink
