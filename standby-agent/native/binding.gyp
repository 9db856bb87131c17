{
  "targets": [
    {
      "target_name": "nonstop_repair",
      "sources": ["src/repair.cc", "src/relay.cc", "src/pool.cc", "src/listener.cc", "src/frame.cc", "src/netlink.cc", "src/capture.cc"],
      "libraries": ["-lpcap"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    }
  ]
}
