// bridge_sync_child STATE_DIR BASE_URL
//
// Test helper: opens the bridge on STATE_DIR with the platform keys in the
// environment (TILLIT_TEST_DEVICE_KEY and TILLIT_TEST_QUEUE_KEY, 64 hex
// digits each), runs one tillit_sync and prints its result (exit 0) or
// its error (exit 1). The crash test SIGKILLs it in the middle of a sync.
// Test keys only: never a way to hand real keys to the bridge.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tillit_bridge.h"

namespace {

struct Keys {
  unsigned char device[32];
  unsigned char queue[32];
};

bool FromHex(const char* hex, unsigned char out[32]) {
  if (hex == nullptr || std::strlen(hex) != 64) return false;
  for (int i = 0; i < 32; ++i) {
    unsigned int byte = 0;
    if (std::sscanf(hex + 2 * i, "%2x", &byte) != 1) return false;
    out[i] = static_cast<unsigned char>(byte);
  }
  return true;
}

int ProvideKey(void* ctx, const char* name, unsigned char* key,
               size_t key_len) {
  const Keys* keys = static_cast<const Keys*>(ctx);
  if (key_len != 32) return 1;
  if (std::strcmp(name, "device-key") == 0) {
    std::memcpy(key, keys->device, 32);
  } else if (std::strcmp(name, "queue") == 0) {
    std::memcpy(key, keys->queue, 32);
  } else {
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bridge_sync_child STATE_DIR BASE_URL\n");
    return 2;
  }
  Keys keys{};
  if (!FromHex(std::getenv("TILLIT_TEST_DEVICE_KEY"), keys.device) ||
      !FromHex(std::getenv("TILLIT_TEST_QUEUE_KEY"), keys.queue)) {
    std::fprintf(stderr, "bridge_sync_child: keys missing from environment\n");
    return 2;
  }
  tillit_options_t* options = tillit_options_create();
  tillit_options_set_state_dir(options, argv[1]);
  tillit_options_set_base_url(options, argv[2]);
  tillit_options_set_key_provider(options, ProvideKey, &keys);
  char* err = nullptr;
  tillit_client_t* client = tillit_client_open(options, &err);
  tillit_options_destroy(options);
  if (client == nullptr) {
    std::fprintf(stderr, "%s\n", err);
    tillit_bridge_free(err);
    return 1;
  }
  char* result = tillit_sync(client, &err);
  int code = 0;
  if (result != nullptr) {
    std::printf("%s\n", result);
    tillit_bridge_free(result);
  } else {
    std::fprintf(stderr, "%s\n", err);
    tillit_bridge_free(err);
    code = 1;
  }
  tillit_client_close(client);
  return code;
}
