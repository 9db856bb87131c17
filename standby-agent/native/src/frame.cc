// sendFrame(ifname, frame): one raw Ethernet frame out of an interface (AF_PACKET). The agent
// sends a marker frame on its capture interface and waits until its own capture reports it:
// then every frame the interface received before has been tracked (capture/barrier.ts).
// injectIp(frame): the IP packet inside a captured Ethernet frame, handed to this host's own
// stack as if it had been received: a raw IP socket's packet to a local address is delivered
// locally. After a failover the mirror can still bring client segments the switch forwarded
// with its old cached flows (capture/late-frames.ts); this gives them to the restored sockets.
#include "frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace frame {
namespace {

int sendFd = -1;  // protocol 0: this socket sends and never receives

Napi::Value SendFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "sendFrame(ifname, frame)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  auto bytes = info[1].As<Napi::Buffer<uint8_t>>();
  if (bytes.Length() < 14) {
    Napi::RangeError::New(env, "sendFrame: a frame has at least an Ethernet header (14 bytes)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    Napi::Error::New(env, "sendFrame: " + ifname + ": " + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (sendFd < 0) sendFd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (sendFd < 0) {
    Napi::Error::New(env, std::string("sendFrame: AF_PACKET socket: ") + strerror(errno))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = static_cast<int>(ifindex);
  addr.sll_halen = 6;
  memcpy(addr.sll_addr, bytes.Data(), 6);
  ssize_t n = sendto(sendFd, bytes.Data(), bytes.Length(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (n < 0) {
    Napi::Error::New(env, "sendFrame: " + ifname + ": " + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

int raw4 = -1;
int raw6 = -1;

uint32_t SumWords(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// The TCP checksum over the pseudo-header (`addrs`: source then destination, 8 or 32 bytes).
void TcpChecksum(uint8_t* tcp, size_t len, const uint8_t* addrs, size_t addrLen) {
  if (len < 20) return;
  tcp[16] = tcp[17] = 0;
  uint32_t sum = SumWords(addrs, addrLen, 0);
  sum += IPPROTO_TCP;
  sum += static_cast<uint32_t>(len & 0xffff) + static_cast<uint32_t>(len >> 16);
  sum = SumWords(tcp, len, sum);
  uint16_t c = Fold(sum);
  tcp[16] = static_cast<uint8_t>(c >> 8);
  tcp[17] = static_cast<uint8_t>(c & 0xff);
}

Napi::Value InjectIp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "injectIp(frame)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto frame = info[0].As<Napi::Buffer<uint8_t>>();
  const uint8_t* b = frame.Data();
  size_t n = frame.Length();
  uint16_t type = n >= 14 ? static_cast<uint16_t>((b[12] << 8) | b[13]) : 0;
  size_t o = 14;
  while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && n >= o + 4) {
    type = static_cast<uint16_t>((b[o + 2] << 8) | b[o + 3]);
    o += 4;
  }
  auto fail = [&](const std::string& why) {
    Napi::Error::New(env, "injectIp: " + why).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  // where the two families differ: the packet's length, the transport header, the addresses
  bool v4 = type == 0x0800 && n >= o + 20;
  bool v6 = type == 0x86dd && n >= o + 40;
  if (!v4 && !v6) return fail("not an IP packet");
  size_t total, l4, addrAt, addrLen, protoAt;
  if (v4) {
    l4 = static_cast<size_t>(b[o] & 0x0f) * 4;
    total = static_cast<size_t>((b[o + 2] << 8) | b[o + 3]);
    if (l4 < 20 || total < l4 || o + total > n) return fail("not a whole IPv4 packet");
    addrAt = 12, addrLen = 4, protoAt = 9;
  } else {
    // (the checksum is redone only when TCP follows the fixed header directly)
    l4 = 40;
    total = 40 + static_cast<size_t>((b[o + 4] << 8) | b[o + 5]);
    if (o + total > n) return fail("not a whole IPv6 packet");
    addrAt = 8, addrLen = 16, protoAt = 6;
  }
  // a copy: the checksum is rewritten, and the caller's buffer is the capture's
  std::vector<uint8_t> pkt(b + o, b + o + total);
  if (pkt[protoAt] == IPPROTO_TCP) TcpChecksum(pkt.data() + l4, total - l4, pkt.data() + addrAt, 2 * addrLen);
  int& raw = v4 ? raw4 : raw6;
  if (raw < 0) raw = socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (raw < 0) return fail(std::string(v4 ? "raw IPv4 socket: " : "raw IPv6 socket: ") + strerror(errno));
  sockaddr_storage to{};
  socklen_t toLen;
  const uint8_t* dst = pkt.data() + addrAt + addrLen;
  if (v4) {
    auto* a = reinterpret_cast<sockaddr_in*>(&to);
    a->sin_family = AF_INET;
    memcpy(&a->sin_addr, dst, 4);
    toLen = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&to);
    a->sin6_family = AF_INET6;
    memcpy(&a->sin6_addr, dst, 16);
    toLen = sizeof(sockaddr_in6);
  }
  ssize_t sent = sendto(raw, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), toLen);
  if (sent < 0) return fail(strerror(errno));
  return Napi::Number::New(env, static_cast<double>(sent));
}

}  // namespace

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFrame", Napi::Function::New(env, SendFrame, "sendFrame"));
  exports.Set("injectIp", Napi::Function::New(env, InjectIp, "injectIp"));
}

}  // namespace frame
