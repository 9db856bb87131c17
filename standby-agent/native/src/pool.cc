// Idle connections to the local service, opened before a failover needs them. A failover joins
// every restored socket to a connection to the standby's service at once; a thousand connects
// wait in the service's accept queue, and the last of them was accepted 115 ms after the first
// (nginx, 1,000 connections), while their clients waited. Connections taken from this pool are
// accepted already: the client's request goes on at once. Joins beyond the pool connect as before.
// The pool is kept by the relay thread: connects in the background (a few at a time, paced by the
// accept queue, never while a failover's joins wait), a connection the service closes is
// replaced, and each is replaced before it is maxAge old, so that a service's idle timeout does
// not close one as a failover takes it. A service that sends bytes unprompted (a greeting) would
// pass them to a client: the pool then stops for good.
#include "pool.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "listener.h"

namespace relay {
namespace {

constexpr size_t kMaxConnecting = 8;        // background work: a few connects at a time
constexpr uint32_t kAcceptQueueShare = 4;   // and never more than a quarter of the backlog queued
constexpr int64_t kRetryUs = 1000000;       // after a failed connect, or a connection closed early
constexpr int64_t kMinMaxAgeUs = 1000000;
constexpr int64_t kPacedUs = 5000;          // looks again at a full accept queue
// Takes come in a burst (a failover): the pool is refilled once they have stopped for this long,
// not while the failover and the service's first replies need the machine.
constexpr int64_t kAfterTakesUs = 1000000;

bool SameTarget(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    auto& x = reinterpret_cast<const sockaddr_in&>(a);
    auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return x.sin6_port == y.sin6_port && memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return false;
}

// The bytes waiting on an idle connection: >0 it sent some, 0 it was closed, -1 none (alive).
ssize_t Peek(int fd) {
  char b;
  ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
  return n < 0 ? 0 : n;
}

}  // namespace

void LocalPool::Configure(int epfd, const sockaddr_storage& target, socklen_t len, size_t size,
                          int64_t maxAgeUs) {
  epfd_ = epfd;
  bool newTarget = !SameTarget(target, target_);
  if (newTarget) {
    CloseAll();
    target_ = target;
    targetLen_ = len;
    disabled_ = false;  // a new service gets its own chance
    std::lock_guard<std::mutex> lock(textMu_);
    disabledWhy_.clear();
    lastError_.clear();
  }
  if (size != size_) {
    limit_ = SIZE_MAX;  // a new size: the service's room is tried again
    limitSeen_.store(-1);
  }
  size_ = size;
  // what was learnt of this service (its idle timeout, a failing connect's back-off) outlives a
  // resize: only another service or another max age starts afresh
  int64_t configured = std::max(maxAgeUs, kMinMaxAgeUs);
  if (newTarget || configured != configuredMaxAgeUs_) {
    configuredMaxAgeUs_ = configured;
    maxAgeUs_ = configured;
    maxAgeSeen_.store(maxAgeUs_);
    retryAtUs_ = 0;
  }
  if (size_ == 0) CloseAll();
}

int LocalPool::Take(const sockaddr_storage& target, int64_t nowUs) {
  if (disabled_ || !SameTarget(target, target_)) return -1;
  while (!ready_.empty()) {
    PooledConn* c = ready_.back();  // the newest: the furthest from any idle timeout
    ready_.pop_back();
    readyCount_.store(ready_.size());
    ssize_t n = Peek(c->fd);
    if (n < 0) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
      int fd = c->fd;
      c->fd = -1;
      dead_.push_back(c);
      taken_.fetch_add(1);
      lastTakeUs_ = nowUs;
      return fd;
    }
    if (n > 0) {
      Drop(c);
      Disable("the local service sent bytes on an idle connection (it speaks first): a pooled connection would pass them to a client");
      return -1;
    }
    closedByService_.fetch_add(1);
    Drop(c);
  }
  return -1;
}

void LocalPool::OnEvent(PooledConn* c, uint32_t events, int64_t nowUs) {
  if (c->fd < 0) return;  // dropped earlier in this batch
  if (c->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    connecting_--;
    connectingCount_.store(connecting_);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      connectFailed_.fetch_add(1);
      SetError(std::string("connect to the local service: ") + strerror(err ? err : ECONNREFUSED));
      retryAtUs_ = nowUs + kRetryUs;
      Drop(c);
      return;
    }
    connectingList_.erase(std::remove(connectingList_.begin(), connectingList_.end(), c), connectingList_.end());
    c->connecting = false;
    c->readyUs = nowUs;
    epoll_event e{};
    e.events = EPOLLIN | EPOLLRDHUP;  // an idle connection hears nothing unless it ends
    e.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd, &e);
    ready_.push_back(c);
    readyCount_.store(ready_.size());
    opened_.fetch_add(1);
    return;
  }
  ssize_t n = Peek(c->fd);
  if (n < 0 && !(events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))) return;  // spurious
  auto it = std::find(ready_.begin(), ready_.end(), c);
  if (it != ready_.end()) ready_.erase(it);
  readyCount_.store(ready_.size());
  int64_t age = nowUs - c->readyUs;
  Drop(c);
  if (n > 0) {
    Disable("the local service sent bytes on an idle connection (it speaks first): a pooled connection would pass them to a client");
    return;
  }
  closedByService_.fetch_add(1);
  if (age < kMinMaxAgeUs) {
    // Closed at once: the service is full (a connection limit, like nginx's worker_connections).
    // Idle connections must not take the places a failover's joins and new clients need: the
    // pool keeps fewer than the service holds now.
    limit_ = ready_.size() * 9 / 10;
    limitSeen_.store(static_cast<int64_t>(limit_));
    SetError("the local service closed a new connection at once (full?): the pool keeps at most " +
             std::to_string(limit_));
    retryAtUs_ = nowUs + kRetryUs;
    return;
  }
  // The service closes idle connections: replace them well before that age from now on.
  maxAgeUs_ = std::max(kMinMaxAgeUs, std::min(maxAgeUs_, age * 4 / 5));
  maxAgeSeen_.store(maxAgeUs_);
}

int LocalPool::Maintain(int64_t nowUs, bool mayConnect) {
  if (disabled_ || (size_ == 0 && ready_.empty() && connecting_ == 0)) return -1;
  int64_t wakeUs = -1;
  auto wakeAt = [&](int64_t atUs) { wakeUs = wakeUs < 0 ? atUs : std::min(wakeUs, atUs); };
  const size_t want = std::min(size_, limit_);
  while (ready_.size() > want) {  // fewer wanted: the oldest go
    Drop(ready_.front());
    ready_.pop_front();
  }
  // Old connections are replaced one at a time, oldest first, from half the max age on, at a
  // pace that replaces the whole pool within the other half.
  if (!ready_.empty()) {
    int64_t dueUs = std::max(ready_.front()->readyUs + maxAgeUs_ / 2, recycleAtUs_);
    if (nowUs >= dueUs) {
      Drop(ready_.front());
      ready_.pop_front();
      recycleAtUs_ = nowUs + maxAgeUs_ / 2 / static_cast<int64_t>(std::max<size_t>(want, 1));
    }
    if (!ready_.empty()) wakeAt(std::max(ready_.front()->readyUs + maxAgeUs_ / 2, recycleAtUs_));
  }
  readyCount_.store(ready_.size());
  size_t have = ready_.size() + connecting_;
  if (have < want) {
    if (!mayConnect) {
      wakeAt(nowUs + kPacedUs);
    } else if (nowUs < lastTakeUs_ + kAfterTakesUs) {
      wakeAt(lastTakeUs_ + kAfterTakesUs);
    } else if (nowUs < retryAtUs_) {
      wakeAt(retryAtUs_);
    } else if (connecting_ < kMaxConnecting) {
      size_t room = std::min(kMaxConnecting - connecting_, want - have);
      room = std::min<size_t>(room, AcceptQueueRoom(target_, kAcceptQueueShare, UINT32_MAX));
      for (size_t i = 0; i < room; i++) StartConnect(nowUs);
      if (room == 0) wakeAt(nowUs + kPacedUs);
    }
  }
  if (wakeUs < 0) return -1;
  return static_cast<int>(std::max<int64_t>(0, (wakeUs - nowUs + 999) / 1000));
}

void LocalPool::StartConnect(int64_t nowUs) {
  int fd = socket(target_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    SetError(std::string("socket for the local service: ") + strerror(errno));
    retryAtUs_ = nowUs + kRetryUs;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto* c = new PooledConn();
  c->fd = fd;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target_), targetLen_) != 0 && errno != EINPROGRESS) {
    connectFailed_.fetch_add(1);
    SetError(std::string("connect to the local service: ") + strerror(errno));
    retryAtUs_ = nowUs + kRetryUs;
    close(fd);
    delete c;
    return;
  }
  // even a connect that completed at once is reported by EPOLLOUT
  epoll_event e{};
  e.events = EPOLLOUT;
  e.data.ptr = c;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &e) != 0) {
    SetError(std::string("epoll_ctl: ") + strerror(errno));
    close(fd);
    delete c;
    return;
  }
  connecting_++;
  connectingCount_.store(connecting_);
  connectingList_.push_back(c);
}

// Closes with a reset: a replaced connection leaves no TIME_WAIT behind (thousands a minute).
void LocalPool::Drop(PooledConn* c) {
  if (c->connecting) connectingList_.erase(std::remove(connectingList_.begin(), connectingList_.end(), c), connectingList_.end());
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
  linger l{1, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(c->fd);
  c->fd = -1;
  dead_.push_back(c);
}

void LocalPool::Reap() {
  for (PooledConn* c : dead_) delete c;
  dead_.clear();
}

void LocalPool::CloseAll() {
  for (PooledConn* c : ready_) Drop(c);
  ready_.clear();
  for (PooledConn* c : std::vector<PooledConn*>(connectingList_)) Drop(c);
  connectingList_.clear();
  connecting_ = 0;
  readyCount_.store(0);
  connectingCount_.store(0);
}

void LocalPool::Disable(const std::string& why) {
  disabled_ = true;
  {
    std::lock_guard<std::mutex> lock(textMu_);
    disabledWhy_ = why;
  }
  CloseAll();
}

void LocalPool::SetError(const std::string& why) {
  std::lock_guard<std::mutex> lock(textMu_);
  lastError_ = why;
}

PoolStats LocalPool::Stats() const {
  PoolStats s{readyCount_.load(),     connectingCount_.load(),
              taken_.load(),          opened_.load(),
              connectFailed_.load(),  closedByService_.load(),
              static_cast<double>(maxAgeSeen_.load()) / 1000.0, static_cast<double>(limitSeen_.load()),
              {}, {}};
  std::lock_guard<std::mutex> lock(textMu_);
  s.lastError = lastError_;
  s.disabled = disabledWhy_;
  return s;
}

}  // namespace relay
