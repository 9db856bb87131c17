// Addresses and neighbour entries over rtnetlink (netlink.cc).
#pragma once
#include <napi.h>

namespace netlink {
void Init(Napi::Env env, Napi::Object exports);
}
