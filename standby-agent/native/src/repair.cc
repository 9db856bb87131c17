// Creates connected TCP sockets in the kernel from the state of a connection observed on the
// mirror (TCP_REPAIR, as CRIU restores sockets): no SYN is sent, the socket is ESTABLISHED with
// the given sequence numbers, options, windows and queued bytes, and goes live when repair mode
// ends. One call restores a batch; a failure in one socket does not stop the others.
#include <napi.h>

#include "frame.h"
#include "netlink.h"
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

// include/uapi/linux/tcp.h (glibc's netinet/tcp.h may lack the newer ones)
#ifndef TCP_REPAIR
#define TCP_REPAIR 19
#endif
#ifndef TCP_REPAIR_QUEUE
#define TCP_REPAIR_QUEUE 20
#endif
#ifndef TCP_QUEUE_SEQ
#define TCP_QUEUE_SEQ 21
#endif
#ifndef TCP_REPAIR_OPTIONS
#define TCP_REPAIR_OPTIONS 22
#endif
#ifndef TCP_TIMESTAMP
#define TCP_TIMESTAMP 24
#endif
#ifndef TCP_REPAIR_WINDOW
#define TCP_REPAIR_WINDOW 29
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

namespace {

constexpr int kRepairOn = 1;
constexpr int kRepairOff = 0;
// Leaving repair mode sends a window probe (an ACK from snd_una - 1), and the client answers it.
// A thousand restored sockets probing at once, before the redirect, were table misses at the
// switch (packet-ins, then packet-outs) just as the redirect waited for it: 100-180 ms barriers.
// The first data a socket sends carries the same ACK. (TCP_REPAIR_OFF_NO_WP, Linux 4.18+)
constexpr int kRepairOffNoProbe = -1;
constexpr int kNoQueue = 0;
constexpr int kRecvQueue = 1;
constexpr int kSendQueue = 2;
constexpr uint32_t kOptMss = 2;
constexpr uint32_t kOptWindow = 3;
constexpr uint32_t kOptSackPerm = 4;
constexpr uint32_t kOptTimestamp = 8;

struct RepairOpt {
  uint32_t code;
  uint32_t val;
};

struct RepairWindow {
  uint32_t snd_wl1;
  uint32_t snd_wnd;
  uint32_t max_window;
  uint32_t rcv_wnd;
  uint32_t rcv_wup;
};

struct Spec {
  int family = 4;
  std::string localIp;
  uint16_t localPort = 0;
  std::string remoteIp;
  uint16_t remotePort = 0;
  uint32_t sendSeq = 0;  // first byte of the send queue (the client's snd_una)
  uint32_t recvSeq = 0;  // first byte of the receive queue (rcv_nxt - recvQueue length)
  uint32_t mss = 0;
  uint32_t sndWscale = 0;
  uint32_t rcvWscale = 0;
  bool sack = false;
  bool timestamps = false;
  uint32_t tsVal = 0;
  bool transparent = false;
  bool window = false;
  RepairWindow win{};
  std::vector<uint8_t> recvQueue;
  std::vector<uint8_t> sendQueue;
};

struct Failure {
  int err;
  std::string step;
};

// The TCP_REPAIR send path takes at most this much per send(); larger queues go in chunks.
constexpr size_t kChunk = 64 * 1024;

bool SetInt(int fd, int level, int name, int val) {
  return setsockopt(fd, level, name, &val, sizeof(val)) == 0;
}

// queue < 0: the queue already selected
bool QueueBytes(int fd, int queue, const std::vector<uint8_t>& bytes) {
  if (bytes.empty()) return true;
  if (queue >= 0 && !SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue)) return false;
  size_t off = 0;
  while (off < bytes.size()) {
    size_t n = bytes.size() - off;
    if (n > kChunk) n = kChunk;
    ssize_t w = send(fd, bytes.data() + off, n, 0);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(w);
  }
  return true;
}

bool MakeAddr(int family, const std::string& ip, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
  memset(ss, 0, sizeof(*ss));
  if (family == 6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) != 1) return false;
    *len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &a->sin_addr) != 1) return false;
    *len = sizeof(*a);
  }
  return true;
}

// Returns the fd, or -1 with *fail set (errno and the step that failed). The fd is closed on
// failure; a socket closed while still in repair mode vanishes without sending anything.
int Restore(const Spec& s, Failure* fail) {
  auto bad = [&](int fd, const char* step) {
    fail->err = errno;
    fail->step = step;
    if (fd >= 0) close(fd);
    return -1;
  };
  sockaddr_storage local, remote;
  socklen_t llen = 0, rlen = 0;
  if (!MakeAddr(s.family, s.localIp, s.localPort, &local, &llen)) {
    errno = EINVAL;
    return bad(-1, "parse-local-address");
  }
  if (!MakeAddr(s.family, s.remoteIp, s.remotePort, &remote, &rlen)) {
    errno = EINVAL;
    return bad(-1, "parse-remote-address");
  }
  int fd = socket(s.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return bad(-1, "socket");
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOn)) return bad(fd, "TCP_REPAIR on");
  if (s.transparent) {
    bool ok = s.family == 6 ? SetInt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1) : SetInt(fd, IPPROTO_IP, IP_TRANSPARENT, 1);
    if (!ok) return bad(fd, "IP_TRANSPARENT");
  }
  if (s.family == 6 && !SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) return bad(fd, "IPV6_V6ONLY");
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kSendQueue)) return bad(fd, "TCP_REPAIR_QUEUE send");
  if (!SetInt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, static_cast<int>(s.sendSeq))) return bad(fd, "TCP_QUEUE_SEQ send");
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kRecvQueue)) return bad(fd, "TCP_REPAIR_QUEUE recv");
  if (!SetInt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, static_cast<int>(s.recvSeq))) return bad(fd, "TCP_QUEUE_SEQ recv");
  // connect() sizes the segments from the MSS clamp: set it now, or the socket keeps the
  // 536-byte default (the clamp set later by TCP_REPAIR_OPTIONS does not resize them)
  if (s.mss > 0 && !SetInt(fd, IPPROTO_TCP, TCP_MAXSEG, static_cast<int>(s.mss))) return bad(fd, "TCP_MAXSEG");
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), llen) != 0) return bad(fd, "bind");
  if (connect(fd, reinterpret_cast<sockaddr*>(&remote), rlen) != 0) return bad(fd, "connect");

  RepairOpt opts[4];
  int n = 0;
  if (s.mss > 0) opts[n++] = {kOptMss, s.mss};
  opts[n++] = {kOptWindow, s.sndWscale | (s.rcvWscale << 16)};
  if (s.sack) opts[n++] = {kOptSackPerm, 0};
  if (s.timestamps) opts[n++] = {kOptTimestamp, 0};
  if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, sizeof(RepairOpt) * n) != 0)
    return bad(fd, "TCP_REPAIR_OPTIONS");
  if (s.timestamps) {
    // Since 6.7 the low bit of the value selects microsecond timestamps: keep it clear.
    uint32_t v = (s.tsVal + 1u) & ~1u;
    if (setsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &v, sizeof(v)) != 0) return bad(fd, "TCP_TIMESTAMP");
  }
  // the selected queue is still RECV (set last, before bind): no syscall to select it again
  if (!QueueBytes(fd, -1, s.recvQueue)) return bad(fd, "queue recv bytes");
  if (s.window && setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &s.win, sizeof(s.win)) != 0)
    return bad(fd, "TCP_REPAIR_WINDOW");
  // No window probe: the reply to the appended request acknowledges it, well before the client
  // retransmits (with one segment in flight, not for 200 ms), and a retransmission that does come
  // is answered as a duplicate. A probe per connection cost the failover's thread a send through
  // the switch while it was busiest (measured: 6-7 us per connection appended, with it 17-21).
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOffNoProbe)) return bad(fd, "TCP_REPAIR off");
  // Bytes the service sent that the client has not acknowledged: written now as fresh data from
  // snd_una, so they go out at once. (Queued in repair mode they would count as sent and wait
  // for a retransmission timeout, which starts at 1 s on a socket without RTT samples.) The
  // client drops what it already has.
  size_t off = 0;
  while (off < s.sendQueue.size()) {
    ssize_t w = send(fd, s.sendQueue.data() + off, s.sendQueue.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return bad(fd, "send unacknowledged bytes");
    }
    off += static_cast<size_t>(w);
  }
  return fd;
}

// ---- JS glue -------------------------------------------------------------------------------

bool ReadU32(const Napi::Object& o, const char* key, uint32_t* out, bool required, std::string* err) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    if (required) *err = std::string(key) + " is required";
    return !required;
  }
  if (!v.IsNumber()) {
    *err = std::string(key) + " must be a number";
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    *err = std::string(key) + " must be an integer in [0, 2^32)";
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

bool ReadString(const Napi::Object& o, const char* key, std::string* out, std::string* err) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) {
    *err = std::string(key) + " must be a string";
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool ReadBytes(const Napi::Object& o, const char* key, std::vector<uint8_t>* out, std::string* err) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    *err = std::string(key) + " must be a Buffer";
    return false;
  }
  auto b = v.As<Napi::Uint8Array>();
  out->assign(b.Data(), b.Data() + b.ElementLength());
  return true;
}

bool ParseSpec(const Napi::Value& value, Spec* s, std::string* err) {
  if (!value.IsObject()) {
    *err = "each entry must be an object";
    return false;
  }
  Napi::Object o = value.As<Napi::Object>();
  uint32_t fam = 4, lport = 0, rport = 0;
  if (!ReadU32(o, "family", &fam, false, err)) return false;
  if (fam != 4 && fam != 6) {
    *err = "family must be 4 or 6";
    return false;
  }
  s->family = static_cast<int>(fam);
  if (!ReadString(o, "localIp", &s->localIp, err) || !ReadString(o, "remoteIp", &s->remoteIp, err)) return false;
  if (!ReadU32(o, "localPort", &lport, true, err) || !ReadU32(o, "remotePort", &rport, true, err)) return false;
  if (lport == 0 || lport > 65535 || rport == 0 || rport > 65535) {
    *err = "ports must be in 1..65535";
    return false;
  }
  s->localPort = static_cast<uint16_t>(lport);
  s->remotePort = static_cast<uint16_t>(rport);
  if (!ReadU32(o, "sendSeq", &s->sendSeq, true, err) || !ReadU32(o, "recvSeq", &s->recvSeq, true, err)) return false;
  if (!ReadU32(o, "mss", &s->mss, false, err)) return false;
  if (!ReadU32(o, "sndWscale", &s->sndWscale, false, err) || !ReadU32(o, "rcvWscale", &s->rcvWscale, false, err))
    return false;
  if (s->sndWscale > 14 || s->rcvWscale > 14) {
    *err = "window scales must be in 0..14";
    return false;
  }
  s->sack = o.Get("sack").ToBoolean().Value();
  s->transparent = o.Get("transparent").ToBoolean().Value();
  Napi::Value ts = o.Get("tsVal");
  if (!ts.IsUndefined()) {
    s->timestamps = true;
    if (!ReadU32(o, "tsVal", &s->tsVal, true, err)) return false;
  }
  Napi::Value w = o.Get("window");
  if (!w.IsUndefined()) {
    if (!w.IsObject()) {
      *err = "window must be an object";
      return false;
    }
    Napi::Object wo = w.As<Napi::Object>();
    s->window = true;
    if (!ReadU32(wo, "sndWl1", &s->win.snd_wl1, true, err) || !ReadU32(wo, "sndWnd", &s->win.snd_wnd, true, err) ||
        !ReadU32(wo, "maxWindow", &s->win.max_window, true, err) ||
        !ReadU32(wo, "rcvWnd", &s->win.rcv_wnd, true, err) || !ReadU32(wo, "rcvWup", &s->win.rcv_wup, true, err))
      return false;
  }
  if (!ReadBytes(o, "recvQueue", &s->recvQueue, err) || !ReadBytes(o, "sendQueue", &s->sendQueue, err)) return false;
  return true;
}

Napi::Error MakeError(Napi::Env env, const Failure& f) {
  const char* name = strerrorname_np(f.err);
  std::string code = name ? name : "E" + std::to_string(f.err);
  Napi::Error e = Napi::Error::New(env, f.step + " failed: " + strerror(f.err) + " (" + code + ")");
  e.Set("errno", Napi::Number::New(env, f.err));
  e.Set("code", Napi::String::New(env, code));
  e.Set("step", Napi::String::New(env, f.step));
  return e;
}

Napi::Error MakeInputError(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::TypeError::New(env, "invalid restore spec: " + msg);
  e.Set("errno", Napi::Number::New(env, EINVAL));
  e.Set("code", Napi::String::New(env, "EINVAL"));
  e.Set("step", Napi::String::New(env, "validate"));
  return e;
}

// restore(specs: object[]): (number | Error)[] — fds in the same order as the specs.
Napi::Value RestoreBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "restore(specs): specs must be an array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array in = info[0].As<Napi::Array>();
  uint32_t n = in.Length();
  Napi::Array out = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) {
    Spec spec;
    std::string err;
    if (!ParseSpec(in.Get(i), &spec, &err)) {
      out.Set(i, MakeInputError(env, err).Value());
      continue;
    }
    Failure fail{0, ""};
    int fd = Restore(spec, &fail);
    if (fd < 0)
      out.Set(i, MakeError(env, fail).Value());
    else
      out.Set(i, Napi::Number::New(env, fd));
  }
  return out;
}

// Puts an established socket in repair mode and reads what a restore needs (for tests and
// diagnostics), as restore() takes it; leaves repair mode unless told to stay (a socket closed
// in repair mode vanishes silently).
Napi::Value ReadRepairState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "readState(fd): fd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool leave = info.Length() < 2 || info[1].ToBoolean().Value();
  Failure fail{0, ""};
  auto fails = [&](const char* step) {
    fail.err = errno;
    fail.step = step;
    MakeError(env, fail).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOn)) return fails("TCP_REPAIR on");
  uint32_t sendSeq = 0, recvSeq = 0;
  socklen_t len = sizeof(uint32_t);
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kSendQueue)) return fails("TCP_REPAIR_QUEUE send");
  if (getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &sendSeq, &len) != 0) return fails("TCP_QUEUE_SEQ send");
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kRecvQueue)) return fails("TCP_REPAIR_QUEUE recv");
  len = sizeof(uint32_t);
  if (getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &recvSeq, &len) != 0) return fails("TCP_QUEUE_SEQ recv");
  RepairWindow win{};
  len = sizeof(win);
  if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &win, &len) != 0) return fails("TCP_REPAIR_WINDOW");
  uint32_t ts = 0;
  len = sizeof(ts);
  if (getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &ts, &len) != 0) return fails("TCP_TIMESTAMP");
  // Queued bytes, peeked: the send queue holds sent-but-unacked and unsent bytes, the receive
  // queue bytes the application has not read. Restore semantics start each queue at its first byte.
  int outq = 0, inq = 0;
  if (ioctl(fd, SIOCOUTQ, &outq) != 0) return fails("SIOCOUTQ");
  if (ioctl(fd, SIOCINQ, &inq) != 0) return fails("SIOCINQ");
  Napi::Buffer<uint8_t> sendQueue = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(outq));
  Napi::Buffer<uint8_t> recvQueue = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(inq));
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kSendQueue)) return fails("TCP_REPAIR_QUEUE send");
  if (outq > 0 && recv(fd, sendQueue.Data(), outq, MSG_PEEK | MSG_DONTWAIT) != outq) return fails("peek send queue");
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kRecvQueue)) return fails("TCP_REPAIR_QUEUE recv");
  if (inq > 0 && recv(fd, recvQueue.Data(), inq, MSG_PEEK | MSG_DONTWAIT) != inq) return fails("peek recv queue");
  int mssClamp = 0;  // in repair mode TCP_MAXSEG reads the clamp: the MSS the peer announced
  len = sizeof(mssClamp);
  if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mssClamp, &len) != 0) return fails("TCP_MAXSEG");
  struct tcp_info ti {};
  len = sizeof(ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return fails("TCP_INFO");
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kNoQueue)) return fails("TCP_REPAIR_QUEUE none");
  if (leave && !SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOff)) return fails("TCP_REPAIR off");
  Napi::Object o = Napi::Object::New(env);
  o.Set("sendSeq", Napi::Number::New(env, sendSeq - static_cast<uint32_t>(outq)));
  o.Set("recvSeq", Napi::Number::New(env, recvSeq - static_cast<uint32_t>(inq)));
  o.Set("sndNxt", Napi::Number::New(env, sendSeq));
  o.Set("rcvNxt", Napi::Number::New(env, recvSeq));
  o.Set("sendQueue", sendQueue);
  o.Set("recvQueue", recvQueue);
  o.Set("sndWscale", Napi::Number::New(env, ti.tcpi_snd_wscale));
  o.Set("rcvWscale", Napi::Number::New(env, ti.tcpi_rcv_wscale));
  o.Set("sack", Napi::Boolean::New(env, (ti.tcpi_options & TCPI_OPT_SACK) != 0));
  o.Set("timestamps", Napi::Boolean::New(env, (ti.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0));
  o.Set("mss", Napi::Number::New(env, mssClamp));
  o.Set("sendMss", Napi::Number::New(env, ti.tcpi_snd_mss));
  o.Set("tsVal", Napi::Number::New(env, ts));
  Napi::Object w = Napi::Object::New(env);
  w.Set("sndWl1", Napi::Number::New(env, win.snd_wl1));
  w.Set("sndWnd", Napi::Number::New(env, win.snd_wnd));
  w.Set("maxWindow", Napi::Number::New(env, win.max_window));
  w.Set("rcvWnd", Napi::Number::New(env, win.rcv_wnd));
  w.Set("rcvWup", Napi::Number::New(env, win.rcv_wup));
  o.Set("window", w);
  return o;
}

// Closes an fd that is (or is put) in repair mode: the kernel drops the socket without
// sending FIN or RST — how tests make a "service" vanish silently.
Napi::Value CloseSilently(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "closeSilently(fd): fd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOn)) {
    Failure f{errno, "TCP_REPAIR on"};
    MakeError(env, f).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  close(fd);
  return env.Undefined();
}

// topUp(fd, startSeq, bytes): bytes = client data [startSeq, startSeq + length) seen on the
// mirror after the restore. Appends to a live socket's receive queue the part beyond what the
// kernel already has (its rcv_nxt), in repair mode; leaving repair mode sends an ACK for it, so
// the client does not retransmit. Returns the number of bytes appended (0 if nothing was missing
// or the kernel's rcv_nxt is outside the range).
Napi::Value TopUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsTypedArray()) {
    Napi::TypeError::New(env, "topUp(fd, startSeq, bytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t start = static_cast<uint32_t>(info[1].As<Napi::Number>().Int64Value());
  auto bytes = info[2].As<Napi::Uint8Array>();
  Failure fail{0, ""};
  auto fails = [&](const char* step) {
    fail.err = errno;
    fail.step = step;
    MakeError(env, fail).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOn)) return fails("TCP_REPAIR on");
  uint32_t rcvNxt = 0;
  socklen_t len = sizeof(rcvNxt);
  size_t appended = 0;
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kRecvQueue) ||
      getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &rcvNxt, &len) != 0) {
    int e = errno;
    SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOff);
    errno = e;
    return fails("TCP_QUEUE_SEQ recv");
  }
  int32_t have = static_cast<int32_t>(rcvNxt - start);
  if (have >= 0 && static_cast<size_t>(have) < bytes.ElementLength()) {
    std::vector<uint8_t> rest(bytes.Data() + have, bytes.Data() + bytes.ElementLength());
    if (!QueueBytes(fd, -1, rest)) {
      int e = errno;
      SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOff);
      errno = e;
      return fails("queue recv bytes");
    }
    appended = rest.size();
  }
  SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, kNoQueue);
  // No window probe: the reply to the appended request acknowledges it, well before the client
  // retransmits (with one segment in flight, not for 200 ms), and a retransmission that does come
  // is answered as a duplicate. A probe per connection cost the failover's thread a send through
  // the switch while it was busiest (measured: 6-7 us per connection appended, with it 17-21).
  if (!SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOffNoProbe))
    return fails("TCP_REPAIR off");
  if (appended > 0) {
    // bytes queued in repair mode wake no reader: SO_RCVLOWAT makes the kernel check (and
    // signal EPOLLIN) now, so a reader already waiting on the socket gets them
    SetInt(fd, SOL_SOCKET, SO_RCVLOWAT, 1);
  }
  return Napi::Number::New(env, static_cast<double>(appended));
}

// reserveFds(n): grows this process's descriptor table to n slots now (at most RLIMIT_NOFILE);
// returns the size reserved. Growing it later, while a failover opens thousands of sockets,
// waits for an RCU grace period at every doubling in a threaded process: measured, a thousand
// relay joins spent 31 ms of their 38 ms in dup(). The table never shrinks.
Napi::Value ReserveFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "reserveFds(n)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t n = info[0].As<Napi::Number>().Int64Value();
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && static_cast<rlim_t>(n) > rl.rlim_cur)
    n = static_cast<int64_t>(rl.rlim_cur);
  if (n < 1) return Napi::Number::New(env, 0);
  int base = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (base < 0) return Napi::Number::New(env, 0);
  int high = fcntl(base, F_DUPFD_CLOEXEC, static_cast<int>(n - 1));
  close(base);
  if (high < 0) return Napi::Number::New(env, 0);
  close(high);
  return Napi::Number::New(env, static_cast<double>(n));
}

// raiseFdLimit(n): RLIMIT_NOFILE up to n (at most fs.nr_open), the hard limit too when this
// process may (root may); returns the soft limit now. A failover holds about three descriptors
// per connection for a moment, and the pool one more per tracked connection before: a default
// limit of 1,024 (or 20,000) bounds how many connections one failover can take.
Napi::Value RaiseFdLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().DoubleValue() < 1) {
    Napi::TypeError::New(env, "raiseFdLimit(n): n must be a positive number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  rlim_t n = static_cast<rlim_t>(info[0].As<Napi::Number>().DoubleValue());
  FILE* f = fopen("/proc/sys/fs/nr_open", "r");
  if (f != nullptr) {
    unsigned long long nrOpen = 0;
    if (fscanf(f, "%llu", &nrOpen) == 1 && nrOpen > 0 && n > nrOpen) n = static_cast<rlim_t>(nrOpen);
    fclose(f);
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return Napi::Number::New(env, 0);
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= n) return Napi::Number::New(env, static_cast<double>(rl.rlim_cur));
  rlimit want{n, rl.rlim_max == RLIM_INFINITY || rl.rlim_max > n ? rl.rlim_max : n};
  if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
    // not allowed to raise the hard limit: up to it
    want = {rl.rlim_max < n ? rl.rlim_max : n, rl.rlim_max};
    setrlimit(RLIMIT_NOFILE, &want);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  return Napi::Number::New(env, static_cast<double>(rl.rlim_cur));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("reserveFds", Napi::Function::New(env, ReserveFds, "reserveFds"));
  exports.Set("raiseFdLimit", Napi::Function::New(env, RaiseFdLimit, "raiseFdLimit"));
  exports.Set("topUp", Napi::Function::New(env, TopUp, "topUp"));
  exports.Set("restore", Napi::Function::New(env, RestoreBatch, "restore"));
  exports.Set("readState", Napi::Function::New(env, ReadRepairState, "readState"));
  exports.Set("closeSilently", Napi::Function::New(env, CloseSilently, "closeSilently"));
  relay::Init(env, exports);
  frame::Init(env, exports);
  netlink::Init(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(nonstop_repair, Init)
