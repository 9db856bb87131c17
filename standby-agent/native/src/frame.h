// Raw frames out of an interface (frame.cc).
#pragma once
#include <napi.h>

namespace frame {
void Init(Napi::Env env, Napi::Object exports);
}
