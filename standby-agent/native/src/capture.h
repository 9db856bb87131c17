// Live capture delivered in batches (capture.cc).
#pragma once
#include <napi.h>

namespace capture {
void Init(Napi::Env env, Napi::Object exports);
}
