/*
 * bmcemu's only native code: map an open file descriptor into memory with
 * mmap(MAP_SHARED) and hand the mapping to JavaScript as an ArrayBuffer.
 *
 * Node has no mmap, and inside a QEMU guest the LPC window is an ivshmem
 * PCI BAR: the sysfs file resource2 can be mapped but not read with pread.
 *
 *   map(fd, length, offset = 0, writable = true) -> ArrayBuffer
 *   unmap(arrayBuffer)  detach it; its finaliser then munmaps at once
 *   pageSize            the offset granularity
 *
 * The ArrayBuffer is external: its finaliser munmaps when it is garbage
 * collected. unmap() only detaches it (every view becomes empty, so nothing
 * can touch the memory again) and Node runs that same finaliser on the next
 * loop turn; the memory is never unmapped while JavaScript can reach it.
 * Errors from the kernel carry errno (number) and syscall, as Node's own do.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <node_api.h>

/* Throw an Error like Node's system errors: "mmap: <strerror>", errno, syscall. */
static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char text[256];
  napi_value msg, error, num, name;
  snprintf(text, sizeof text, "%s failed: %s (errno %d)", syscall, strerror(err), err);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, error, "syscall", name);
  napi_throw(env, error);
  return NULL;
}

/* A non-negative integer no larger than 2^53, or 0 (with a TypeError/RangeError thrown). */
static int get_count(napi_env env, napi_value v, const char *what, double *out) {
  napi_valuetype type;
  char text[128];
  napi_typeof(env, v, &type);
  if (type != napi_number) {
    snprintf(text, sizeof text, "%s must be a number", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", text);
    return 0;
  }
  napi_get_value_double(env, v, out);
  if (*out != (double)(int64_t)*out || *out < 0 || *out > 9007199254740992.0) {
    snprintf(text, sizeof text, "%s must be a non-negative integer", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", text);
    return 0;
  }
  return 1;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  double fd, length, offset = 0;
  bool writable = true;
  long page = sysconf(_SC_PAGESIZE);
  struct stat st;
  char text[160];
  void *addr;

  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "map(fd, length, offset?, writable?) needs fd and length");
    return NULL;
  }
  if (!get_count(env, argv[0], "fd", &fd) || !get_count(env, argv[1], "length", &length)) return NULL;
  if (argc > 2 && !get_count(env, argv[2], "offset", &offset)) return NULL;
  if (argc > 3 && napi_get_value_bool(env, argv[3], &writable) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "writable must be a boolean");
    return NULL;
  }
  if (length == 0 || length > (double)SIZE_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "length must be at least 1 byte");
    return NULL;
  }
  if ((int64_t)offset % page != 0) {
    snprintf(text, sizeof text, "offset %.0f is not a multiple of the page size (%ld)", offset, page);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", text);
    return NULL;
  }
  if (fstat((int)fd, &st) != 0) return throw_errno(env, "fstat", errno);
  /* Touching a page past the end of a regular file raises SIGBUS: refuse up front. */
  if (S_ISREG(st.st_mode) && offset + length > (double)st.st_size) {
    snprintf(text, sizeof text, "offset %.0f + length %.0f is beyond the end of the file (%lld bytes)", offset, length,
             (long long)st.st_size);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", text);
    return NULL;
  }
  addr = mmap(NULL, (size_t)length, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, (int)fd, (off_t)offset);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  if (napi_create_external_arraybuffer(env, addr, (size_t)length, finalize, (void *)(uintptr_t)length, &result) != napi_ok) {
    munmap(addr, (size_t)length);
    napi_throw_error(env, NULL, "cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  return result;
}

static napi_value unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value ab;
  bool is_ab = false, detached = false;
  napi_get_cb_info(env, info, &argc, &ab, NULL, NULL);
  if (argc < 1 || napi_is_arraybuffer(env, ab, &is_ab) != napi_ok || !is_ab) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "unmap() needs the ArrayBuffer map() returned");
    return NULL;
  }
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (!detached && napi_detach_arraybuffer(env, ab) != napi_ok) {
    napi_throw_error(env, NULL, "cannot detach the ArrayBuffer");
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, page;
  napi_create_function(env, "map", NAPI_AUTO_LENGTH, map, NULL, &fn);
  napi_set_named_property(env, exports, "map", fn);
  napi_create_function(env, "unmap", NAPI_AUTO_LENGTH, unmap, NULL, &fn);
  napi_set_named_property(env, exports, "unmap", fn);
  napi_create_int64(env, sysconf(_SC_PAGESIZE), &page);
  napi_set_named_property(env, exports, "pageSize", page);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
