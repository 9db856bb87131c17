// The native relay of resumed connections (relay.cc).
#pragma once
#include <napi.h>

namespace relay {
void Init(Napi::Env env, Napi::Object exports);
}
