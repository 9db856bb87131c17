// sendFrame(ifname, frame): one raw Ethernet frame out of an interface (AF_PACKET). The agent
// sends a marker frame on its capture interface and waits until its own capture reports it:
// then every frame the interface received before has been tracked (capture/barrier.ts).
#include "frame.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

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

}  // namespace

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFrame", Napi::Function::New(env, SendFrame, "sendFrame"));
}

}  // namespace frame
