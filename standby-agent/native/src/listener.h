// The accept queue of a local listener, read with sock_diag (listener.cc).
#pragma once
#include <sys/socket.h>

#include <cstdint>

namespace relay {

// How many connections wait in the accept queue of the listener at `target` (a local socket) and
// how many it may hold. False when there is no such listener in this namespace.
bool AcceptQueue(const sockaddr_storage& target, uint32_t* queued, uint32_t* limit);

// How many more connections may wait in that listener's accept queue while it stays within
// 1/share of its backlog; `notListening` when there is no such listener (nothing to pace by).
uint32_t AcceptQueueRoom(const sockaddr_storage& target, uint32_t share, uint32_t notListening);

}  // namespace relay
