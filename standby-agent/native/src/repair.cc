// Creates connected TCP sockets in the kernel from the state of a connection observed on the
// mirror (TCP_REPAIR, as CRIU restores sockets): no SYN is sent, the socket is ESTABLISHED with
// the given sequence numbers, options, windows and queued bytes, and goes live when repair mode
// ends. One call restores a batch; a failure in one socket does not stop the others.
#include <napi.h>

#include "capture.h"
#include "frame.h"
#include "netlink.h"
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>  // hardware_concurrency
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

// One socket to create, as restorePacked() reads it from the packed batch (restore-batch.ts).
struct Spec {
  int family = 4;
  sockaddr_storage local{};
  socklen_t localLen = 0;
  sockaddr_storage remote{};
  socklen_t remoteLen = 0;
  // set when an address does not parse for the family: the step that reports it
  const char* addressError = nullptr;
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
  // in the batch's byte buffer, which outlives the call
  const uint8_t* recvQueue = nullptr;
  size_t recvLen = 0;
  const uint8_t* sendQueue = nullptr;
  size_t sendLen = 0;
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
bool QueueBytes(int fd, int queue, const uint8_t* bytes, size_t len) {
  if (len == 0) return true;
  if (queue >= 0 && !SetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue)) return false;
  size_t off = 0;
  while (off < len) {
    size_t n = len - off;
    if (n > kChunk) n = kChunk;
    ssize_t w = send(fd, bytes + off, n, 0);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(w);
  }
  return true;
}

// An address of the batch's table, parsed once for whichever family a spec asks.
struct ParsedIp {
  bool v4 = false;
  bool v6 = false;
  in_addr a4{};
  in6_addr a6{};
};

ParsedIp ParseIp(const std::string& text) {
  ParsedIp p;
  p.v4 = inet_pton(AF_INET, text.c_str(), &p.a4) == 1;
  p.v6 = inet_pton(AF_INET6, text.c_str(), &p.a6) == 1;
  return p;
}

bool MakeAddr(int family, const ParsedIp& ip, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
  memset(ss, 0, sizeof(*ss));
  if (family == 6) {
    if (!ip.v6) return false;
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = ip.a6;
    *len = sizeof(*a);
  } else {
    if (!ip.v4) return false;
    auto* a = reinterpret_cast<sockaddr_in*>(ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr = ip.a4;
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
  if (s.addressError) {
    errno = EINVAL;
    return bad(-1, s.addressError);
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
  if (bind(fd, reinterpret_cast<const sockaddr*>(&s.local), s.localLen) != 0) return bad(fd, "bind");
  if (connect(fd, reinterpret_cast<const sockaddr*>(&s.remote), s.remoteLen) != 0) return bad(fd, "connect");

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
  if (!QueueBytes(fd, -1, s.recvQueue, s.recvLen)) return bad(fd, "queue recv bytes");
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
  while (off < s.sendLen) {
    ssize_t w = send(fd, s.sendQueue + off, s.sendLen - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return bad(fd, "send unacknowledged bytes");
    }
    off += static_cast<size_t>(w);
  }
  return fd;
}

// ---- JS glue -------------------------------------------------------------------------------

// The packed batch (restore-batch.ts writes it; keep the two in step): per socket kPackedWords
// u32 words. Reading twenty named properties of a JS object per socket through N-API cost ~5 us
// (a third of a 1,000-socket batch); the packed words cost nanoseconds.
enum PackedWord : size_t {
  kFlags = 0,      // kFlag* bits
  kLocalIp = 1,    // index in the address table
  kRemoteIp = 2,   // index in the address table
  kPorts = 3,      // local port | remote port << 16
  kSendSeq = 4,
  kRecvSeq = 5,
  kMss = 6,        // 0: not set
  kWscales = 7,    // snd_wscale | rcv_wscale << 8
  kTsVal = 8,
  kWindow = 9,     // five words: snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup
  kRecvAt = 14,    // offset and length in the byte buffer
  kRecvLen = 15,
  kSendAt = 16,
  kSendLen = 17,
  kPackedWords = 18,
};
constexpr uint32_t kFlagV6 = 1;
constexpr uint32_t kFlagSack = 2;
constexpr uint32_t kFlagTimestamps = 4;
constexpr uint32_t kFlagWindow = 8;
constexpr uint32_t kFlagTransparent = 16;

Napi::Error MakeError(Napi::Env env, const Failure& f) {
  const char* name = strerrorname_np(f.err);
  std::string code = name ? name : "E" + std::to_string(f.err);
  Napi::Error e = Napi::Error::New(env, f.step + " failed: " + strerror(f.err) + " (" + code + ")");
  e.Set("errno", Napi::Number::New(env, f.err));
  e.Set("code", Napi::String::New(env, code));
  e.Set("step", Napi::String::New(env, f.step));
  return e;
}

// Specs a thread takes at a time from a batch (see RestoreAll).
constexpr size_t kRestoreBlock = 16;
// Below this many sockets a batch is not worth a second thread (starting one costs ~50 us).
constexpr size_t kThreadedBatch = 64;

// The threads a batch of n sockets is created on: one per core, at most 4. The kernel's work per
// socket spreads over cores, though not evenly (every socket binds the same service port): 1,000
// sockets took 0.65-0.83x as long on 2 threads as on one (bench/restore-batch).
unsigned RestoreThreads(size_t n, int asked) {
  if (asked > 0) return static_cast<unsigned>(asked > 16 ? 16 : asked);
  if (n < kThreadedBatch) return 1;
  unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0) cores = 1;
  return cores > 4 ? 4 : cores;
}

template <typename F>
void* RunWork(void* work) {
  (*static_cast<F*>(work))();
  return nullptr;
}

// Creates the sockets on `threads` threads (this one among them), each taking the next block of
// specs until none is left, so a thread that gets no core leaves its share to the others.
// fds[i] is the fd, or -1 with fails[i] set. A helper that cannot be started (pthread_create
// fails) leaves its share to the others: a failover never stops for want of a thread.
void RestoreAll(const std::vector<Spec>& specs, unsigned threads, std::vector<int>* fds, std::vector<Failure>* fails) {
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (;;) {
      size_t from = next.fetch_add(kRestoreBlock, std::memory_order_relaxed);
      if (from >= specs.size()) return;
      size_t to = std::min(specs.size(), from + kRestoreBlock);
      for (size_t i = from; i < to; i++) (*fds)[i] = Restore(specs[i], &(*fails)[i]);
    }
  };
  std::vector<pthread_t> helpers;
  for (unsigned t = 1; t < threads; t++) {
    pthread_t helper;
    if (pthread_create(&helper, nullptr, RunWork<decltype(work)>, &work) == 0) helpers.push_back(helper);
  }
  work();
  for (pthread_t h : helpers) pthread_join(h, nullptr);
}

// restorePacked(words: Uint32Array, ips: string[], bytes: Buffer, threads?: number):
// (number | Error)[] — per packed socket its fd or why it failed, in order. The addresses are
// parsed once each; the sockets are then created on several threads (RestoreAll).
Napi::Value RestorePacked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto usage = [&](const char* why) {
    Napi::TypeError::New(env, std::string("restorePacked(words, ips, bytes, threads?): ") + why)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsArray() || !info[2].IsTypedArray())
    return usage("expected a Uint32Array, an array of addresses and a Buffer");
  auto wordsArray = info[0].As<Napi::TypedArray>();
  auto bytesArray = info[2].As<Napi::TypedArray>();
  if (wordsArray.TypedArrayType() != napi_uint32_array || bytesArray.TypedArrayType() != napi_uint8_array)
    return usage("expected a Uint32Array and a Buffer");
  const uint32_t* words = wordsArray.As<Napi::Uint32Array>().Data();
  size_t wordCount = wordsArray.ElementLength();
  const uint8_t* bytes = bytesArray.As<Napi::Uint8Array>().Data();
  size_t byteCount = bytesArray.ElementLength();
  if (wordCount % kPackedWords != 0) return usage("words must hold whole sockets");
  int asked = 0;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsNumber() || info[3].As<Napi::Number>().Int32Value() < 1) return usage("threads must be a positive number");
    asked = info[3].As<Napi::Number>().Int32Value();
  }
  Napi::Array ipArray = info[1].As<Napi::Array>();
  std::vector<ParsedIp> ips(ipArray.Length());
  for (uint32_t i = 0; i < ipArray.Length(); i++) {
    Napi::Value v = ipArray.Get(i);
    if (!v.IsString()) return usage("addresses must be strings");
    ips[i] = ParseIp(v.As<Napi::String>().Utf8Value());
  }
  size_t n = wordCount / kPackedWords;
  std::vector<Spec> specs(n);
  for (size_t i = 0; i < n; i++) {
    const uint32_t* w = words + i * kPackedWords;
    Spec& s = specs[i];
    uint32_t flags = w[kFlags];
    if (w[kLocalIp] >= ips.size() || w[kRemoteIp] >= ips.size()) return usage("address index out of range");
    if (static_cast<uint64_t>(w[kRecvAt]) + w[kRecvLen] > byteCount ||
        static_cast<uint64_t>(w[kSendAt]) + w[kSendLen] > byteCount)
      return usage("queue bytes out of range");
    s.family = (flags & kFlagV6) ? 6 : 4;
    if (!MakeAddr(s.family, ips[w[kLocalIp]], w[kPorts] & 0xffff, &s.local, &s.localLen))
      s.addressError = "parse-local-address";
    else if (!MakeAddr(s.family, ips[w[kRemoteIp]], w[kPorts] >> 16, &s.remote, &s.remoteLen))
      s.addressError = "parse-remote-address";
    s.sendSeq = w[kSendSeq];
    s.recvSeq = w[kRecvSeq];
    s.mss = w[kMss];
    s.sndWscale = w[kWscales] & 0xff;
    s.rcvWscale = (w[kWscales] >> 8) & 0xff;
    s.sack = (flags & kFlagSack) != 0;
    s.timestamps = (flags & kFlagTimestamps) != 0;
    s.tsVal = w[kTsVal];
    s.transparent = (flags & kFlagTransparent) != 0;
    s.window = (flags & kFlagWindow) != 0;
    s.win = {w[kWindow], w[kWindow + 1], w[kWindow + 2], w[kWindow + 3], w[kWindow + 4]};
    s.recvQueue = bytes + w[kRecvAt];
    s.recvLen = w[kRecvLen];
    s.sendQueue = bytes + w[kSendAt];
    s.sendLen = w[kSendLen];
  }
  std::vector<int> fds(n, -1);
  std::vector<Failure> fails(n, Failure{0, ""});
  RestoreAll(specs, RestoreThreads(n, asked), &fds, &fails);
  Napi::Array out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    if (fds[i] < 0)
      out.Set(i, MakeError(env, fails[i]).Value());
    else
      out.Set(i, Napi::Number::New(env, fds[i]));
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
    size_t rest = bytes.ElementLength() - static_cast<size_t>(have);
    if (!QueueBytes(fd, -1, bytes.Data() + have, rest)) {
      int e = errno;
      SetInt(fd, IPPROTO_TCP, TCP_REPAIR, kRepairOff);
      errno = e;
      return fails("queue recv bytes");
    }
    appended = rest;
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
  exports.Set("restorePacked", Napi::Function::New(env, RestorePacked, "restorePacked"));
  exports.Set("readState", Napi::Function::New(env, ReadRepairState, "readState"));
  exports.Set("closeSilently", Napi::Function::New(env, CloseSilently, "closeSilently"));
  relay::Init(env, exports);
  frame::Init(env, exports);
  capture::Init(env, exports);
  netlink::Init(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(nonstop_repair, Init)
