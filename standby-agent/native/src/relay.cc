// Relays bytes between pairs of connected sockets on one native thread (epoll), so a resumed
// connection costs the agent's JavaScript thread nothing once it is joined: after a failover
// the standby forwards every request and reply of thousands of connections, and a JS pipe per
// connection spent most of a core on it. Each pair is a restored client socket and the agent's
// connection to the local service. EOF is passed on as a half-close; an error on either side
// resets the client and closes the other (as the JS joiner did); then both fds are closed and
// JS hears of it through a thread-safe callback.
// relayJoinMany also makes the connection to the local service here: a failover joins every restored
// socket at once, and doing a thousand connects and socket wrappers on the JS thread took it
// 350-450 ms, while the clients waited. A held join connects at once and passes the client's
// queued request on, so the local service works on it while the failover redirects; its reply
// waits until relayRelease (the failover's top-up is done, and the switch sends the client's
// answers here). relayPause keeps the worker off every socket while the caller changes some in
// repair mode (where a write would land in the receive queue). relayPool keeps idle connections
// to the local service open ahead of a failover (pool.cc): a join takes one instead of connecting.
#include "relay.h"

#include "listener.h"
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
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
// connects to the local service in progress at once; more wait their turn
constexpr size_t kMaxConnecting = 128;
// A loopback connect is complete before the service accepts it: it waits in the listener's
// accept queue, and one beyond the listen backlog is dropped and retried a second later
// (measured: 45 of 1,000 joins stalled 1 s behind nginx's default backlog of 511). So new
// connects are paced by that queue (read with sock_diag), kept under half the backlog.
constexpr uint32_t kAcceptQueueShare = 2;

struct Pair;

struct End {
  Tag tag = Tag::kPairEnd;  // epoll events point here (or at a pooled connection)
  Pair* pair = nullptr;
  int side = 0;
  End() = default;
  End(Pair* p, int s) : pair(p), side(s) {}
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
  // relayJoinMany: the local connection is made by the worker (fd[kLocal] is -1 until then)
  bool join = false;
  bool connecting = false;
  bool joined = false;
  bool held = false;  // nothing is written to the client until relayRelease
  bool fromPool = false;  // its local connection came from the pool (made before the join)
  sockaddr_storage target{};
  socklen_t targetLen = 0;
  std::string error;
};

struct Ended {
  uint32_t id;
  double toLocal;
  double toClient;
  std::string error;
  bool joined;
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
// worker only: joins waiting for a connect slot, and how many connects are in progress
std::deque<Pair*> waitingConnect;
size_t connecting = 0;
// worker only: connects that may start before the listener's queue is read again, and whether
// the last reading said the queue was too full (the worker then looks again in a millisecond)
uint32_t acceptBudget = 0;
bool acceptPaced = false;
// the listener the budget was read from (a budget is good for one burst, to one target)
sockaddr_storage budgetTarget{};
// read by relayStats
std::atomic<uint64_t> joinedCount{0};
std::atomic<uint64_t> connectFailedCount{0};
std::atomic<int64_t> lastJoinedUs{0};
std::atomic<uint64_t> fromPoolCount{0};
// the last release of held joins: when it began, and how long passing their replies on took
std::atomic<int64_t> lastReleaseAtUs{0};
std::atomic<int64_t> lastReleaseTookUs{0};
// worker only: held joins, until a release (or cancel) comes
std::vector<Pair*> heldPairs;
// set by relayRelease / relayCancel, acted on by the worker after the pairs added before them
std::atomic<bool> releaseAsked{false};
std::atomic<bool> cancelAsked{false};
// held by the worker while it touches sockets; relayPause takes it to keep the worker off them
std::mutex ioMu;
// relayPause is waiting for ioMu: the worker ends its batch of events early and lets it in (a
// mutex is not fair: a worker going from one busy batch to the next could keep it out for many)
std::atomic<bool> pauseWanted{false};
// idle connections to the local service (pool.cc); its settings come from relayPool, under mu
LocalPool pool;
struct PoolConfig {
  sockaddr_storage target{};
  socklen_t len = 0;
  size_t size = 0;
  int64_t maxAgeUs = 0;
};
PoolConfig poolConfig;  // guarded by mu
std::atomic<bool> poolConfigAsked{false};

int64_t NowMonoUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

int64_t NowEpochUs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

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
  // read fd[s] only while nothing read from it waits; write to it while the other side's bytes
  // wait; a held pair reads nothing from the local service
  uint32_t ev = 0;
  if (!p->dir[s].sourceEof && p->dir[s].pending.empty() && !(s == kLocal && p->held)) ev |= EPOLLIN;
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
                          static_cast<double>(p->dir[kLocal].bytes), p->error, p->joined};
  napi_status st = tsfn.NonBlockingCall(ended, [](Napi::Env env, Napi::Function fn, Ended* e) {
    // The raw call: at process exit JS cannot run any more, and node-addon-api's Call would turn
    // that failure into a throw, which is fatal there. A call that fails is simply dropped.
    if (env != nullptr && fn != nullptr) {
      napi_value argv[5] = {Napi::Number::New(env, e->id), Napi::Number::New(env, e->toLocal),
                            Napi::Number::New(env, e->toClient),
                            e->error.empty() ? env.Undefined() : Napi::String::New(env, e->error),
                            Napi::Boolean::New(env, e->joined)};
      napi_value undefined = env.Undefined();
      napi_call_function(env, undefined, fn, 5, argv, nullptr);
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
  if (p->fd[kLocal] >= 0) close(p->fd[kLocal]);
  Report(p);
}

// The pair is relayed from here: bytes given at the hand-over go first.
void Begin(Pair* p) {
  if (Flush(p, kClient) && Flush(p, kLocal)) {
    Watch(p, kClient);
    Watch(p, kLocal);
  }
}

void StartConnect(Pair* p);
void StartWaiting(std::vector<Pair*>& finished);

// The pair's local connection is there (connected, or taken from the pool): it relays.
void Joined(Pair* p) {
  p->joined = true;
  joinedCount.fetch_add(1);
  if (p->fromPool) fromPoolCount.fetch_add(1);
  lastJoinedUs.store(NowEpochUs());
  Begin(p);
}

// A connect ended (made or failed): the next waiting join gets the slot.
void ConnectSettled(Pair* p, std::vector<Pair*>& finished) {
  connecting--;
  p->connecting = false;
  if (p->error.empty()) {
    Joined(p);
  } else {
    connectFailedCount.fetch_add(1);
  }
  if (!p->error.empty()) {
    Finish(p);
    finished.push_back(p);
  }
  StartWaiting(finished);
}

// Whether another connect to p's target may start now (see kAcceptQueueShare).
bool AcceptRoom(Pair* p) {
  if (acceptBudget > 0 && memcmp(&budgetTarget, &p->target, sizeof budgetTarget) == 0) {
    acceptBudget--;
    return true;
  }
  budgetTarget = p->target;
  acceptBudget = AcceptQueueRoom(p->target, kAcceptQueueShare, kMaxConnecting);
  acceptPaced = acceptBudget == 0;
  if (acceptPaced) return false;
  acceptBudget--;
  return true;
}

// Joins waiting for a connect slot get the free ones.
void StartWaiting(std::vector<Pair*>& finished) {
  while (connecting < kMaxConnecting && !waitingConnect.empty() && AcceptRoom(waitingConnect.front())) {
    Pair* next = waitingConnect.front();
    waitingConnect.pop_front();
    StartConnect(next);
    if (!next->connecting) ConnectSettled(next, finished);
  }
  if (waitingConnect.empty()) acceptBudget = 0;  // the burst is over: the next one reads afresh
}

// Opens the local connection of a relayJoinMany pair; `connecting` stays set while it is in progress.
void StartConnect(Pair* p) {
  connecting++;
  p->connecting = true;
  int fd = socket(p->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Fail(p, Describe("socket for the local service", errno));
    p->connecting = false;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  p->fd[kLocal] = fd;
  if (connect(fd, reinterpret_cast<sockaddr*>(&p->target), p->targetLen) == 0) {
    p->connecting = false;
    return;
  }
  if (errno != EINPROGRESS) {
    Fail(p, Describe("connect to the local service", errno));
    p->connecting = false;
    return;
  }
  epoll_event e{};
  e.events = EPOLLOUT;
  e.data.ptr = &p->end[kLocal];
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
    Fail(p, Describe("epoll_ctl", errno));
    p->connecting = false;
    return;
  }
  p->registered[kLocal] = true;
  p->interest[kLocal] = EPOLLOUT;
}

void Run() {
  std::vector<epoll_event> events(256);
  std::vector<Pair*> finished;
  while (!stopping.load()) {
    // paced by a full accept queue: look again in a millisecond
    int timeout = acceptPaced && !waitingConnect.empty() ? 1 : -1;
    int poolWait = pool.Maintain(NowMonoUs(), waitingConnect.empty() && connecting == 0);
    if (poolWait >= 0 && (timeout < 0 || poolWait < timeout)) timeout = poolWait;
    int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    while (pauseWanted.load()) std::this_thread::yield();
    std::lock_guard<std::mutex> io(ioMu);
    if (n == 0) {
      acceptBudget = 0;
      StartWaiting(finished);
    }
    // the wake-up eventfd: new pairs, the pool's settings, a release or a cancel, or stop
    auto onWake = [&]() {
      uint64_t v;
      if (read(wakefd, &v, sizeof v) < 0) {
        // EAGAIN: already drained
      }
      std::vector<Pair*> added;
      {
        std::lock_guard<std::mutex> lock(mu);
        added.swap(incoming);
      }
      if (poolConfigAsked.exchange(false)) {
        PoolConfig c;
        {
          std::lock_guard<std::mutex> lock(mu);
          c = poolConfig;
        }
        pool.Configure(epfd, c.target, c.len, c.size, c.maxAgeUs);
      }
      for (Pair* p : added) {
        if (p->held) heldPairs.push_back(p);
        if (p->join) {
          int fd = waitingConnect.empty() ? pool.Take(p->target, NowMonoUs()) : -1;
          if (fd < 0) {
            waitingConnect.push_back(p);
            continue;
          }
          // accepted by the service already: the pair relays at once
          p->fd[kLocal] = fd;
          p->fromPool = true;
          Joined(p);
          if (!p->error.empty()) {
            Finish(p);
            finished.push_back(p);
          }
          continue;
        }
        // bytes read before the hand-over go first
        Begin(p);
        if (!p->error.empty()) {
          Finish(p);
          finished.push_back(p);
        }
      }
      StartWaiting(finished);
      bool cancel = cancelAsked.exchange(false);
      if (cancel || releaseAsked.exchange(false)) {
        int64_t releaseStart = NowEpochUs();
        for (Pair* p : heldPairs) {
          if (p->done) continue;
          p->held = false;
          if (cancel) {
            Fail(p, "the failover was abandoned");
            if (p->connecting) connecting--;
            waitingConnect.erase(std::remove(waitingConnect.begin(), waitingConnect.end(), p),
                                 waitingConnect.end());
          } else if (p->connecting || !p->joined) {
            continue;  // relays both ways once its connect completes
          } else if (Pump(p, kLocal)) {  // the reply may be in already (even its EOF)
            Watch(p, kClient);
            Watch(p, kLocal);
          }
          if (!p->error.empty()) {
            Finish(p);
            finished.push_back(p);
          }
        }
        if (!cancel) {
          lastReleaseAtUs.store(releaseStart);
          lastReleaseTookUs.store(NowEpochUs() - releaseStart);
        }
        heldPairs.clear();
        StartWaiting(finished);
      }
    };
    for (int i = 0; i < n; i++) {
      // the events not handled yet are reported again (level-triggered) after the pause
      if (pauseWanted.load(std::memory_order_relaxed)) break;
      // A release (or cancel) goes before the batch's other events: after a failover's top-up
      // they are hundreds of appended requests to pass on, and the clients waiting for the held
      // replies waited behind them (measured: the release began 1-30 ms after it was asked).
      if (releaseAsked.load(std::memory_order_relaxed) || cancelAsked.load(std::memory_order_relaxed)) onWake();
      if (events[i].data.ptr == nullptr) {
        onWake();
        continue;
      }
      if (*static_cast<Tag*>(events[i].data.ptr) == Tag::kPooled) {
        pool.OnEvent(static_cast<PooledConn*>(events[i].data.ptr), events[i].events, NowMonoUs());
        continue;
      }
      End* end = static_cast<End*>(events[i].data.ptr);
      Pair* p = end->pair;
      if (p->done) continue;
      uint32_t ev = events[i].events;
      if (p->connecting) {  // only the local side is watched, for the connect's outcome
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p->fd[kLocal], SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (ev & (EPOLLERR | EPOLLHUP)))
          Fail(p, Describe("connect to the local service", err ? err : ECONNREFUSED));
        ConnectSettled(p, finished);
        continue;
      }
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
      // a held pair's reply stays with the local service (read at the release)
      if (ok && (ev & (EPOLLIN | EPOLLHUP)) && !(p->held && end->side == kLocal)) ok = Pump(p, end->side);
      if (ok && (ev & (EPOLLOUT | EPOLLHUP)) && !(p->held && end->side == kClient)) ok = Pump(p, 1 - end->side);
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
    pool.Reap();
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
      if (p->fd[kLocal] >= 0) close(p->fd[kLocal]);
      delete p;
    }
    pairs.clear();
    incoming.clear();
    waitingConnect.clear();
    heldPairs.clear();
    connecting = 0;
    pool.CloseAll();
    pool.Reap();
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
  p->joined = true;  // both connections exist already
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

// host and port into a socket address; false (with a JS exception) when they are not valid
bool ParseTarget(const Napi::Value& hostArg, const Napi::Value& portArg, const char* fn,
                 sockaddr_storage* target, socklen_t* len) {
  Napi::Env env = hostArg.Env();
  std::string host = hostArg.As<Napi::String>().Utf8Value();
  int port = portArg.As<Napi::Number>().Int32Value();
  if (port < 1 || port > 65535) {
    Napi::RangeError::New(env, std::string(fn) + ": port must be 1-65535").ThrowAsJavaScriptException();
    return false;
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(target);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(target);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
  } else {
    Napi::TypeError::New(env, std::string(fn) + ": host must be an IPv4 or IPv6 address, got \"" + host + "\"")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// A pair that joins a duplicate of `fd` to a connection the relay will make to `target`; null
// with errno set when the duplicate cannot be made.
Pair* NewJoinPair(uint32_t id, int fd, const sockaddr_storage& target, socklen_t targetLen, bool hold) {
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return nullptr;
  auto* p = new Pair();
  p->target = target;
  p->targetLen = targetLen;
  p->id = id;
  p->join = true;
  p->fd[kLocal] = -1;
  p->fd[kClient] = dup;
  int fl = fcntl(dup, F_GETFL);
  fcntl(dup, F_SETFL, fl | O_NONBLOCK);
  int one = 1;
  setsockopt(dup, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (int s = 0; s < 2; s++) p->end[s] = End{p, s};
  p->held = hold;
  return p;
}

// Hands new join pairs to the worker: one wake-up for those it has not taken yet.
void Enqueue(const std::vector<Pair*>& made) {
  if (made.empty()) return;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu);
    wake = incoming.empty();
    for (Pair* p : made) {
      pairs.insert(p);
      incoming.push_back(p);
    }
  }
  uint64_t v = 1;
  if (wake && write(wakefd, &v, sizeof v) < 0) {
    // see Add
  }
}

// relayJoinMany(firstId, clientFds, host, port, hold?): for each fd of the array (ids firstId,
// firstId + 1, ...) the relay connects to host:port itself and then relays; it takes a duplicate
// of the fd (the caller closes its own). hold: the client's bytes go on at once, nothing goes to
// the client before relayRelease(). One call and one wake-up for a failover's thousand joins.
// (Unlike relayAdd, JS has read nothing from a socket it joins: no bytes go first.)
// Returns, per fd, undefined, or why it was not joined (its duplicate could not be made).
Napi::Value JoinMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!started) {
    Napi::Error::New(env, "relayJoinMany: the relay is not started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsArray() || !info[2].IsString() ||
      !info[3].IsNumber()) {
    Napi::TypeError::New(env, "relayJoinMany(firstId, clientFds, host, port[, hold])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sockaddr_storage target{};
  socklen_t targetLen = 0;
  if (!ParseTarget(info[2], info[3], "relayJoinMany", &target, &targetLen)) return env.Undefined();
  uint32_t firstId = info[0].As<Napi::Number>().Uint32Value();
  auto fds = info[1].As<Napi::Array>();
  bool hold = info.Length() > 4 && info[4].ToBoolean().Value();
  uint32_t n = fds.Length();
  auto out = Napi::Array::New(env, n);
  std::vector<Pair*> made;
  made.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = fds.Get(i);
    Pair* p = v.IsNumber() ? NewJoinPair(firstId + i, v.As<Napi::Number>().Int32Value(), target, targetLen, hold)
                           : nullptr;
    if (p == nullptr) {
      out.Set(i, Napi::String::New(env, v.IsNumber() ? Describe("relayJoinMany: dup", errno) : "not an fd"));
      continue;
    }
    made.push_back(p);
  }
  Enqueue(made);
  return out;
}

// relayRelease(): held joins begin relaying (those still connecting, once connected).
// relayCancel(): held joins end instead (their clients are reset once the caller closes its fds).
Napi::Value Signal(const Napi::CallbackInfo& info, std::atomic<bool>& flag, const char* name) {
  Napi::Env env = info.Env();
  if (!started) {
    Napi::Error::New(env, std::string(name) + ": the relay is not started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  flag.store(true);
  uint64_t v = 1;
  if (write(wakefd, &v, sizeof v) < 0) {
    // see Add
  }
  return env.Undefined();
}

// relayPool(host, port, size, maxAgeMs): the relay keeps `size` idle connections to host:port,
// each replaced before it is maxAgeMs old; relayJoinMany to that address takes one instead of
// connecting. size 0 closes them all.
Napi::Value Pool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!started) {
    Napi::Error::New(env, "relayPool: the relay is not started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber()) {
    Napi::TypeError::New(env, "relayPool(host, port, size, maxAgeMs)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double size = info[2].As<Napi::Number>().DoubleValue();
  double maxAgeMs = info[3].As<Napi::Number>().DoubleValue();
  if (!(size >= 0 && size <= 1000000) || size != static_cast<double>(static_cast<int64_t>(size))) {
    Napi::RangeError::New(env, "relayPool: size must be an integer 0-1000000").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!(maxAgeMs >= 1000)) {
    Napi::RangeError::New(env, "relayPool: maxAgeMs must be at least 1000").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  PoolConfig c;
  if (!ParseTarget(info[0], info[1], "relayPool", &c.target, &c.len)) return env.Undefined();
  c.size = static_cast<size_t>(size);
  c.maxAgeUs = static_cast<int64_t>(maxAgeMs * 1000);
  {
    std::lock_guard<std::mutex> lock(mu);
    poolConfig = c;
  }
  return Signal(info, poolConfigAsked, "relayPool");
}

Napi::Value Release(const Napi::CallbackInfo& info) { return Signal(info, releaseAsked, "relayRelease"); }

// relayPause(): returns once the worker is off every socket, and keeps it off until
// relayUnpause() (call both from the same thread, always in pairs).
Napi::Value Pause(const Napi::CallbackInfo& info) {
  pauseWanted.store(true);
  ioMu.lock();
  pauseWanted.store(false);
  return info.Env().Undefined();
}
Napi::Value Unpause(const Napi::CallbackInfo& info) {
  ioMu.unlock();
  return info.Env().Undefined();
}
Napi::Value Cancel(const Napi::CallbackInfo& info) { return Signal(info, cancelAsked, "relayCancel"); }

// relayStats(): pairs being relayed, local connections made and failed by relayJoinMany, and when the
// last one was made (ms since the epoch, 0 = none yet)
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  size_t n;
  {
    std::lock_guard<std::mutex> lock(mu);
    n = pairs.size();
  }
  o.Set("pairs", static_cast<double>(n));
  o.Set("joined", static_cast<double>(joinedCount.load()));
  o.Set("connectFailed", static_cast<double>(connectFailedCount.load()));
  o.Set("lastJoinedAt", static_cast<double>(lastJoinedUs.load()) / 1000.0);
  o.Set("fromPool", static_cast<double>(fromPoolCount.load()));
  o.Set("lastReleaseAt", static_cast<double>(lastReleaseAtUs.load()) / 1000.0);
  o.Set("lastReleaseMs", static_cast<double>(lastReleaseTookUs.load()) / 1000.0);
  PoolStats ps = pool.Stats();
  auto po = Napi::Object::New(env);
  po.Set("ready", static_cast<double>(ps.ready));
  po.Set("connecting", static_cast<double>(ps.connecting));
  po.Set("taken", static_cast<double>(ps.taken));
  po.Set("opened", static_cast<double>(ps.opened));
  po.Set("connectFailed", static_cast<double>(ps.connectFailed));
  po.Set("closedByService", static_cast<double>(ps.closedByService));
  po.Set("maxAgeMs", ps.maxAgeMs);
  if (ps.limit >= 0) po.Set("limit", ps.limit);
  if (!ps.lastError.empty()) po.Set("lastError", ps.lastError);
  if (!ps.disabled.empty()) po.Set("disabled", ps.disabled);
  o.Set("pool", po);
  return o;
}

}  // namespace

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("relayStart", Napi::Function::New(env, Start, "relayStart"));
  exports.Set("relayAdd", Napi::Function::New(env, Add, "relayAdd"));
  exports.Set("relayJoinMany", Napi::Function::New(env, JoinMany, "relayJoinMany"));
  exports.Set("relayStats", Napi::Function::New(env, Stats, "relayStats"));
  exports.Set("relayRelease", Napi::Function::New(env, Release, "relayRelease"));
  exports.Set("relayPause", Napi::Function::New(env, Pause, "relayPause"));
  exports.Set("relayUnpause", Napi::Function::New(env, Unpause, "relayUnpause"));
  exports.Set("relayCancel", Napi::Function::New(env, Cancel, "relayCancel"));
  exports.Set("relayPool", Napi::Function::New(env, Pool, "relayPool"));
  env.AddCleanupHook([]() { Stop(); });
}

}  // namespace relay
