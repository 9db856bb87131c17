// Live capture with libpcap, handed to JS a batch at a time. The agent's thread tracks every
// mirrored frame, and how frames reach it decides two things:
// - the cost per frame: a JS call for each (the `cap` module's way) is a callback scope and a
//   microtask checkpoint per frame, on the thread that tracks a thousand connections;
// - what else waits: `cap` reads the ring until it is empty before returning to the event loop,
//   so in a failover, when the mirror brings a burst, the controller's events and answers (the
//   link-down, the fence, the redirect) waited behind the whole backlog (traced: 10-20 ms).
// Here one JS call carries up to kMaxBatch frames, copied into a buffer JS owns, and the event
// loop runs between batches (the ring's fd is polled level-triggered: what is left is read on
// the loop's next turn, after the other ready sockets).
#include "capture.h"

#include <pcap/pcap.h>
#include <uv.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace capture {
namespace {

constexpr int kMaxBatch = 128;
// per frame in the batch buffer: caplen (u32 LE), original length (u32 LE), timestamp in ms since
// the epoch (f64 LE), then the bytes, padded to 8
constexpr size_t kRecordHeader = 16;

size_t RecordSize(size_t caplen) { return (kRecordHeader + caplen + 7) & ~static_cast<size_t>(7); }

struct Capture {
  uint32_t id = 0;
  pcap_t* pcap = nullptr;
  uv_poll_t poll{};
  napi_env env = nullptr;
  Napi::FunctionReference onBatch;
  Napi::Reference<Napi::Buffer<uint8_t>> batchRef;
  uint8_t* batch = nullptr;
  size_t batchSize = 0;
  size_t used = 0;
  uint32_t count = 0;
  // a frame read when the batch was full: it opens the next batch
  std::vector<uint8_t> overflow;
  napi_async_context async = nullptr;
  bool closing = false;
};

std::map<uint32_t, Capture*> captures;
uint32_t nextId = 1;

void Put(Capture* c, const pcap_pkthdr* h, const u_char* bytes) {
  uint8_t* p = c->batch + c->used;
  uint32_t caplen = h->caplen;
  uint32_t len = h->len;
  double ts = static_cast<double>(h->ts.tv_sec) * 1000.0 + static_cast<double>(h->ts.tv_usec) / 1000.0;
  memcpy(p, &caplen, 4);
  memcpy(p + 4, &len, 4);
  memcpy(p + 8, &ts, 8);
  memcpy(p + kRecordHeader, bytes, caplen);
  c->used += RecordSize(caplen);
  c->count++;
}

void Collect(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
  auto* c = reinterpret_cast<Capture*>(user);
  if (c->used + RecordSize(h->caplen) > c->batchSize) {
    // kept whole (header and bytes) for the next batch; pcap has moved past it
    c->overflow.resize(sizeof(pcap_pkthdr) + h->caplen);
    memcpy(c->overflow.data(), h, sizeof(pcap_pkthdr));
    memcpy(c->overflow.data() + sizeof(pcap_pkthdr), bytes, h->caplen);
    pcap_breakloop(c->pcap);
    return;
  }
  Put(c, h, bytes);
}

// Hands the batch to JS; false when the capture was closed meanwhile (c may be gone).
bool Deliver(Capture* c) {
  Napi::Env env(c->env);
  Napi::HandleScope scope(env);
  uint32_t id = c->id;
  napi_value argv[2] = {Napi::Number::New(env, c->count), Napi::Number::New(env, static_cast<double>(c->used))};
  napi_value result;
  napi_status st = napi_make_callback(env, c->async, env.Global(), c->onBatch.Value(), 2, argv, &result);
  if (st == napi_pending_exception) {
    // thrown by the agent's frame handler: an uncaught exception, as from any event callback
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  auto it = captures.find(id);
  if (it == captures.end()) return false;
  c->used = 0;
  c->count = 0;
  return !c->closing;
}

void FreeCapture(Capture* c) {
  if (c->pcap != nullptr) pcap_close(c->pcap);
  if (c->async != nullptr) napi_async_destroy(c->env, c->async);
  c->onBatch.Reset();
  c->batchRef.Reset();
  delete c;
}

void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  auto* c = static_cast<Capture*>(handle->data);
  if (c->closing || status < 0) return;
  // one batch, then back to the event loop (what is left in the ring brings it back)
  pcap_dispatch(c->pcap, kMaxBatch, Collect, reinterpret_cast<u_char*>(c));
  if (c->count > 0 && !Deliver(c)) return;
  // a frame that did not fit (large frames: offloads on) goes now, alone, not when the ring's
  // next frame comes (there may be none: a capture barrier's marker would wait)
  if (!c->overflow.empty()) {
    pcap_pkthdr h;
    memcpy(&h, c->overflow.data(), sizeof h);
    Put(c, &h, c->overflow.data() + sizeof h);  // fits: the buffer holds a frame of snaplen
    c->overflow.clear();
    Deliver(c);
  }
}

Capture* Find(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, std::string(fn) + "(id)").ThrowAsJavaScriptException();
    return nullptr;
  }
  auto it = captures.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == captures.end()) {
    Napi::Error::New(env, std::string(fn) + ": no such capture").ThrowAsJavaScriptException();
    return nullptr;
  }
  return it->second;
}

// captureOpen(iface, filter, ringBytes, snaplen, batch: Buffer, onBatch(count, bytes)): a
// promiscuous capture of `iface` through the BPF `filter`; returns its id. Each call of onBatch
// has `count` frames in `batch` (see kRecordHeader), valid until it returns.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsBuffer() || !info[5].IsFunction()) {
    Napi::TypeError::New(env, "captureOpen(iface, filter, ringBytes, snaplen, batch, onBatch)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string iface = info[0].As<Napi::String>().Utf8Value();
  std::string filter = info[1].As<Napi::String>().Utf8Value();
  int ringBytes = info[2].As<Napi::Number>().Int32Value();
  int snaplen = info[3].As<Napi::Number>().Int32Value();
  auto batch = info[4].As<Napi::Buffer<uint8_t>>();
  if (snaplen < 64 || batch.Length() < RecordSize(static_cast<size_t>(snaplen))) {
    Napi::RangeError::New(env, "captureOpen: snaplen must be >= 64, and the batch buffer hold one frame of it")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t* p = pcap_create(iface.c_str(), errbuf);
  auto fail = [&](const std::string& what) {
    Napi::Error::New(env, iface + ": " + what).ThrowAsJavaScriptException();
    if (p != nullptr) pcap_close(p);
    return env.Undefined();
  };
  if (p == nullptr) return fail(errbuf);
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, 1);
  pcap_set_immediate_mode(p, 1);
  if (ringBytes > 0) pcap_set_buffer_size(p, ringBytes);
  int rc = pcap_activate(p);
  if (rc < 0) {
    const char* why = pcap_geterr(p);
    return fail(std::string("pcap_activate: ") + (why != nullptr && *why != 0 ? why : pcap_statustostr(rc)));
  }
  if (pcap_datalink(p) != DLT_EN10MB)
    return fail(std::string("link type ") + (pcap_datalink_val_to_name(pcap_datalink(p)) ?: "?") +
                ", expected ETHERNET");
  bpf_program prog{};
  if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    return fail(std::string("filter \"") + filter + "\": " + pcap_geterr(p));
  rc = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (rc != 0) return fail(std::string("pcap_setfilter: ") + pcap_geterr(p));
  if (pcap_setnonblock(p, 1, errbuf) != 0) return fail(errbuf);
  int fd = pcap_get_selectable_fd(p);
  if (fd < 0) return fail("no selectable descriptor");

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return fail("no event loop");
  auto* c = new Capture();
  c->id = nextId++;
  c->pcap = p;
  c->env = env;
  c->onBatch = Napi::Persistent(info[5].As<Napi::Function>());
  c->batchRef = Napi::Persistent(batch);
  c->batch = batch.Data();
  c->batchSize = batch.Length();
  napi_value resourceName = Napi::String::New(env, "nonstop-capture");
  napi_async_init(env, nullptr, resourceName, &c->async);
  if (uv_poll_init(loop, &c->poll, fd) != 0) {
    c->pcap = nullptr;
    FreeCapture(c);
    return fail("uv_poll_init failed");
  }
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_READABLE, OnReadable);
  captures[c->id] = c;
  return Napi::Number::New(env, c->id);
}

// captureStats(id): pcap's counters: frames received (through the filter), dropped by the
// kernel (the ring was full), dropped by the interface
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Capture* c = Find(info, "captureStats");
  if (c == nullptr) return env.Undefined();
  pcap_stat s{};
  auto o = Napi::Object::New(env);
  if (pcap_stats(c->pcap, &s) == 0) {
    o.Set("received", static_cast<double>(s.ps_recv));
    o.Set("dropped", static_cast<double>(s.ps_drop));
    o.Set("ifaceDropped", static_cast<double>(s.ps_ifdrop));
  }
  return o;
}

// captureClose(id): no batch is delivered after it returns. Closing unmaps the ring, which takes
// the thread tens of ms on a large one (the agent closes it outside a failover's steps).
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Capture* c = Find(info, "captureClose");
  if (c == nullptr) return env.Undefined();
  captures.erase(c->id);
  c->closing = true;
  uv_poll_stop(&c->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->poll),
           [](uv_handle_t* h) { FreeCapture(static_cast<Capture*>(h->data)); });
  return env.Undefined();
}

}  // namespace

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("captureOpen", Napi::Function::New(env, Open, "captureOpen"));
  exports.Set("captureStats", Napi::Function::New(env, Stats, "captureStats"));
  exports.Set("captureClose", Napi::Function::New(env, Close, "captureClose"));
}

}  // namespace capture
