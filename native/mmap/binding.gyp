{
  "targets": [
    {
      "target_name": "bmcemu_mmap",
      "sources": ["mmap.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
