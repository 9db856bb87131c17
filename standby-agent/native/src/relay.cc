// Relays bytes between pairs of connected sockets on one native thread (epoll), so a resumed
// connection costs the agent's JavaScript thread nothing once it is joined: after a failover
// the standby forwards every request and reply of thousands of connections, and a JS pipe per
// connection spent most of a core on it. Each pair is a restored client socket and the agent's
// connection to the local service. EOF is passed on as a half-close; an error on either side
// resets the client and closes the other (as the JS joiner did); then both fds are closed and
// JS hears of it through a thread-safe callback.
#include "relay.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace relay {
namespace {

constexpr int kClient = 0;
constexpr int kLocal = 1;
constexpr size_t kChunk = 64 * 1024;
constexpr int kReadsPerEvent = 4;  // then let other pairs run (epoll is level-triggered)

struct Pair;

struct End {
  Pair* pair;
  int side;
};

// One direction: bytes read from fd[side] are written to fd[1 - side].
struct Direction {
  std::vector<uint8_t> pending;  // read but not yet accepted by the destination
  size_t off = 0;
  bool sourceEof = false;
  bool shut = false;  // EOF passed on (shutdown SHUT_WR of the destination)
  uint64_t bytes = 0;
};

struct Pair {
  uint32_t id;
  int fd[2];
  Direction dir[2];
  End end[2];
  uint32_t interest[2] = {0, 0};
  bool registered[2] = {false, false};
  // hung up: the peer's FIN is in and our side is shut (or the connection died). epoll reports
  // that on every wait, so the fd leaves epoll and is read to its end by the other side's events.
  bool hup[2] = {false, false};
  bool done = false;
  std::string error;
};

struct Ended {
  uint32_t id;
  double toLocal;
  double toClient;
  std::string error;
};

std::mutex mu;
std::unordered_set<Pair*> pairs;  // guarded by mu
std::vector<Pair*> incoming;      // guarded by mu: added by JS, registered by the worker
int epfd = -1;
int wakefd = -1;
std::thread* worker = nullptr;  // never destroyed at exit (a joinable std::thread would abort)
std::atomic<bool> stopping{false};
Napi::ThreadSafeFunction tsfn;
bool started = false;

std::string Describe(const char* what, int err) { return std::string(what) + ": " + strerror(err); }

void Fail(Pair* p, const std::string& why) {
  if (p->error.empty()) p->error = why;
}

// Writes what is pending towards fd[1 - s]; false when the pair failed.
bool Flush(Pair* p, int s) {
  Direction& d = p->dir[s];
  while (d.off < d.pending.size()) {
    ssize_t w = send(p->fd[1 - s], d.pending.data() + d.off, d.pending.size() - d.off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      Fail(p, Describe(s == kClient ? "write to the local service" : "write to the client", errno));
      return false;
    }
    d.off += static_cast<size_t>(w);
    d.bytes += static_cast<uint64_t>(w);
  }
  d.pending.clear();
  d.off = 0;
  return true;
}

// Moves bytes from fd[s] to fd[1 - s] until the source is drained or the destination is full.
bool Pump(Pair* p, int s) {
  static thread_local uint8_t buf[kChunk];
  Direction& d = p->dir[s];
  if (!Flush(p, s)) return false;
  for (int i = 0; (p->hup[s] || i < kReadsPerEvent) && d.pending.empty() && !d.sourceEof; i++) {
    ssize_t n = read(p->fd[s], buf, sizeof buf);
    if (n == 0) {
      d.sourceEof = true;
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Fail(p, Describe(s == kClient ? "read from the client" : "read from the local service", errno));
      return false;
    }
    d.pending.assign(buf, buf + n);
    d.off = 0;
    if (!Flush(p, s)) return false;
  }
  if (d.sourceEof && d.pending.empty() && !d.shut) {
    shutdown(p->fd[1 - s], SHUT_WR);
    d.shut = true;
  }
  return true;
}

void Watch(Pair* p, int s) {
  if (p->hup[s]) return;
  // read fd[s] only while nothing read from it waits; write to it while the other side's bytes wait
  uint32_t ev = 0;
  if (!p->dir[s].sourceEof && p->dir[s].pending.empty()) ev |= EPOLLIN;
  if (!p->dir[1 - s].pending.empty()) ev |= EPOLLOUT;
  if (p->registered[s] && ev == p->interest[s]) return;
  epoll_event e{};
  e.events = ev;
  e.data.ptr = &p->end[s];
  if (epoll_ctl(epfd, p->registered[s] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, p->fd[s], &e) != 0) {
    Fail(p, Describe("epoll_ctl", errno));
    return;
  }
  p->registered[s] = true;
  p->interest[s] = ev;
}

void Report(Pair* p) {
  auto* ended = new Ended{p->id, static_cast<double>(p->dir[kClient].bytes),
                          static_cast<double>(p->dir[kLocal].bytes), p->error};
  napi_status st = tsfn.NonBlockingCall(ended, [](Napi::Env env, Napi::Function fn, Ended* e) {
    // The raw call: at process exit JS cannot run any more, and node-addon-api's Call would turn
    // that failure into a throw, which is fatal there. A call that fails is simply dropped.
    if (env != nullptr && fn != nullptr) {
      napi_value argv[4] = {Napi::Number::New(env, e->id), Napi::Number::New(env, e->toLocal),
                            Napi::Number::New(env, e->toClient),
                            e->error.empty() ? env.Undefined() : Napi::String::New(env, e->error)};
      napi_value undefined = env.Undefined();
      napi_call_function(env, undefined, fn, 4, argv, nullptr);
    }
    delete e;
  });
  if (st != napi_ok) delete ended;
}

// Closes both sockets; on an error the client is reset (SO_LINGER 0), so it does not wait.
void Finish(Pair* p) {
  p->done = true;
  for (int s = 0; s < 2; s++)
    if (p->registered[s]) epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd[s], nullptr);
  if (!p->error.empty()) {
    linger l{1, 0};
    setsockopt(p->fd[kClient], SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(p->fd[kClient]);
  close(p->fd[kLocal]);
  Report(p);
}

void Run() {
  std::vector<epoll_event> events(256);
  std::vector<Pair*> finished;
  while (!stopping.load()) {
    int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == nullptr) {  // the wake-up eventfd: new pairs, or stop
        uint64_t v;
        if (read(wakefd, &v, sizeof v) < 0) {
          // EAGAIN: already drained
        }
        std::vector<Pair*> added;
        {
          std::lock_guard<std::mutex> lock(mu);
          added.swap(incoming);
        }
        for (Pair* p : added) {
          // bytes read before the hand-over go first
          if (Flush(p, kClient) && Flush(p, kLocal)) {
            Watch(p, kClient);
            Watch(p, kLocal);
          }
          if (!p->error.empty()) {
            Finish(p);
            finished.push_back(p);
          }
        }
        continue;
      }
      End* end = static_cast<End*>(events[i].data.ptr);
      Pair* p = end->pair;
      if (p->done) continue;
      uint32_t ev = events[i].events;
      bool ok = true;
      if (ev & EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p->fd[end->side], SOL_SOCKET, SO_ERROR, &err, &len);
        Fail(p, Describe(end->side == kClient ? "client socket" : "local service socket", err ? err : EIO));
        ok = false;
      }
      if (ok && (ev & EPOLLHUP)) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd[end->side], nullptr);
        p->registered[end->side] = false;
        p->hup[end->side] = true;
      }
      if (ok && (ev & (EPOLLIN | EPOLLHUP))) ok = Pump(p, end->side);
      if (ok && (ev & (EPOLLOUT | EPOLLHUP))) ok = Pump(p, 1 - end->side);
      if (ok) {
        Watch(p, kClient);
        Watch(p, kLocal);
      }
      bool bothShut = p->dir[kClient].shut && p->dir[kLocal].shut;
      if (!p->error.empty() || bothShut) {
        Finish(p);
        finished.push_back(p);
      }
    }
    if (!finished.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      for (Pair* p : finished) {
        pairs.erase(p);
        delete p;
      }
      finished.clear();
    }
  }
}

void Stop() {
  if (!started) return;
  stopping.store(true);
  uint64_t one = 1;
  if (write(wakefd, &one, sizeof one) < 0) {
    // the worker also stops at its next event
  }
  if (worker != nullptr) {
    worker->join();
    delete worker;
    worker = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    for (Pair* p : pairs) {
      close(p->fd[kClient]);
      close(p->fd[kLocal]);
      delete p;
    }
    pairs.clear();
    incoming.clear();
  }
  close(epfd);
  close(wakefd);
  tsfn.Release();
  started = false;
}

Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "relayStart(onEnded): onEnded must be a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (started) {
    Napi::Error::New(env, "the relay is already started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epfd < 0 || wakefd < 0) {
    Napi::Error::New(env, Describe("relay: epoll/eventfd", errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.ptr = nullptr;
  epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &e);
  tsfn = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "nonstop-relay", 0, 1);
  tsfn.Unref(env);  // relayed connections alone do not keep the process alive
  stopping.store(false);
  worker = new std::thread(Run);
  started = true;
  return env.Undefined();
}

// relayAdd(id, clientFd, localFd, toLocal?, toClient?): the relay takes duplicates of both fds
// (the caller closes its own); toLocal/toClient are bytes already read that must go first.
Napi::Value Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!started) {
    Napi::Error::New(env, "relayAdd: the relay is not started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "relayAdd(id, clientFd, localFd[, toLocal, toClient])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* p = new Pair();
  p->id = info[0].As<Napi::Number>().Uint32Value();
  int fds[2] = {info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value()};
  for (int s = 0; s < 2; s++) {
    p->fd[s] = fcntl(fds[s], F_DUPFD_CLOEXEC, 0);
    if (p->fd[s] < 0) {
      int err = errno;
      if (s == 1) close(p->fd[0]);
      delete p;
      Napi::Error::New(env, Describe("relayAdd: dup", err)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int fl = fcntl(p->fd[s], F_GETFL);
    fcntl(p->fd[s], F_SETFL, fl | O_NONBLOCK);
    p->end[s] = End{p, s};
  }
  // initial bytes: toLocal is what was read from the client (direction kClient), and back
  for (int k = 0; k < 2; k++) {
    size_t arg = 3 + static_cast<size_t>(k);
    if (info.Length() > arg && info[arg].IsBuffer()) {
      auto b = info[arg].As<Napi::Buffer<uint8_t>>();
      p->dir[k].pending.assign(b.Data(), b.Data() + b.Length());
    }
  }
  {
    // from here on only the worker touches the pair
    std::lock_guard<std::mutex> lock(mu);
    pairs.insert(p);
    incoming.push_back(p);
  }
  uint64_t one = 1;
  if (write(wakefd, &one, sizeof one) < 0) {
    // the counter is full only if the worker is gone; Stop() closes what is left
  }
  return env.Undefined();
}

}  // namespace

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("relayStart", Napi::Function::New(env, Start, "relayStart"));
  exports.Set("relayAdd", Napi::Function::New(env, Add, "relayAdd"));
  env.AddCleanupHook([]() { Stop(); });
}

}  // namespace relay
