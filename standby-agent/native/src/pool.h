// Idle connections to the local service, opened before a failover needs them (pool.cc).
#pragma once
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace relay {

// The first member of everything an epoll event of the relay points at, so the loop can tell
// a relayed pair's end from a pooled connection.
enum class Tag : uint8_t { kPairEnd, kPooled };

struct PooledConn {
  Tag tag = Tag::kPooled;
  int fd = -1;  // -1: dropped (an event of the same batch may still point here)
  bool connecting = true;
  int64_t readyUs = 0;
};

struct PoolStats {
  size_t ready;
  size_t connecting;
  uint64_t taken;
  uint64_t opened;
  uint64_t connectFailed;
  uint64_t closedByService;
  double maxAgeMs;  // the age at which connections are replaced now (lowered by early closes)
  double limit;     // at most this many, since the service closed new ones at once (-1: no limit)
  std::string lastError;
  std::string disabled;  // why the pool stopped for good (empty: it did not)
};

// Worker-thread only, except Stats().
class LocalPool {
 public:
  // A new target or size (0 empties the pool); maxAgeUs: connections are replaced before they
  // are this old, so a service's idle timeout does not close one as a failover takes it.
  void Configure(int epfd, const sockaddr_storage& target, socklen_t len, size_t size, int64_t maxAgeUs);
  // A ready connection to `target`, out of epoll and out of the pool (the caller owns the fd);
  // -1 when there is none.
  int Take(const sockaddr_storage& target, int64_t nowUs);
  void OnEvent(PooledConn* c, uint32_t events, int64_t nowUs);
  // Starts connects (when mayConnect) and replaces old connections; returns how many ms until it
  // needs to run again without an event (-1: not before an event).
  int Maintain(int64_t nowUs, bool mayConnect);
  void CloseAll();
  // Frees the connections dropped since the last call: the relay calls it after each batch of
  // epoll events, which may still point at them.
  void Reap();
  PoolStats Stats() const;

 private:
  void StartConnect(int64_t nowUs);
  void Drop(PooledConn* c);
  void Disable(const std::string& why);
  void SetError(const std::string& why);

  int epfd_ = -1;
  sockaddr_storage target_{};
  socklen_t targetLen_ = 0;
  size_t size_ = 0;
  int64_t maxAgeUs_ = 0;
  int64_t configuredMaxAgeUs_ = 0;
  std::deque<PooledConn*> ready_;  // oldest first
  size_t connecting_ = 0;
  std::vector<PooledConn*> connectingList_;
  std::vector<PooledConn*> dead_;  // dropped (fd closed or given away), freed by Reap()
  int64_t lastTakeUs_ = 0;
  int64_t retryAtUs_ = 0;    // after a failed connect or an early close
  int64_t recycleAtUs_ = 0;  // the next replacement of an old connection
  bool disabled_ = false;
  size_t limit_ = SIZE_MAX;  // the service closed new connections at once: keep fewer

  std::atomic<size_t> readyCount_{0};
  std::atomic<size_t> connectingCount_{0};
  std::atomic<uint64_t> taken_{0};
  std::atomic<uint64_t> opened_{0};
  std::atomic<uint64_t> connectFailed_{0};
  std::atomic<uint64_t> closedByService_{0};
  std::atomic<int64_t> maxAgeSeen_{0};
  std::atomic<int64_t> limitSeen_{-1};
  mutable std::mutex textMu_;  // guards the two texts below
  std::string lastError_;
  std::string disabledWhy_;
};

}  // namespace relay
