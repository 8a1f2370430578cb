/* tillit_app.c: the reference citizen app (SPEC §10).
 *
 * A command-line citizen app in plain C11 that uses nothing but the bridge's
 * C ABI (tillit_bridge.h) and the C standard and POSIX headers. It shows
 * what every mobile binding has to do: build options, supply a key provider
 * (here a simulated platform keychain), open a client, call, print the JSON
 * the library returns, branch on error codes, and free every string with
 * tillit_bridge_free().
 *
 * Usage: tillit-app --url URL --state DIR --keys DIR VERB [ARGS]
 * (tillit-app --help lists the verbs.) Results: the library's JSON on
 * standard output. Errors: `tillit-app: VERB: code=CODE: MESSAGE` on
 * standard error, CODE being tillit_error_code(MESSAGE), and the exit
 * status: 0 success, 2 bad usage, 3 network, 4 log_fork / log_rollback /
 * proof_invalid, 1 any other error.
 *
 * The simulated keychain: one file per key name in the --keys directory
 * (created 0700), DIR/<name>.key holding 32 random bytes from /dev/urandom,
 * created 0600 on first use (O_CREAT|O_EXCL) and then read back. A key file
 * that is not exactly 32 bytes, is not a regular file, is a symbolic link,
 * or is readable or writable by group or others is refused, and the bridge
 * call that needed it fails with key_unavailable.
 *
 * Thread-safety: single-threaded program; the key provider is only called
 * from within the bridge call made by main().
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "tillit_bridge.h"

/* Exit statuses (documented in --help). */
enum {
  kExitOk = 0,
  kExitOther = 1,
  kExitUsage = 2,
  kExitNetwork = 3,
  kExitLogIntegrity = 4,
};

enum { kKeyLen = 32 };
/* The longest body read from standard input ("-"): 64 MiB. */
static const size_t kMaxStdinBytes = (size_t)64 * 1024 * 1024;

static const char kUsage[] =
    "Usage: tillit-app --url URL --state DIR --keys DIR [OPTIONS] VERB [ARGS]\n"
    "       tillit-app version\n"
    "       tillit-app --help\n"
    "\n"
    "A reference citizen app over libtillit_bridge (SPEC section 10).\n"
    "\n"
    "Options:\n"
    "  --url URL          the tillit server (http://host:port)\n"
    "  --state DIR        the app's private state (created 0700)\n"
    "  --keys DIR         the simulated platform keychain: one file\n"
    "                     DIR/<name>.key of 32 random bytes per key\n"
    "                     (directory created 0700, files 0600)\n"
    "  --audit-key VKEY   pin the audit log's verifier key (default: the key\n"
    "                     the server presents at pairing)\n"
    "  --timeout-ms N     connect and read timeout per request\n"
    "\n"
    "Verbs (every result is the library's JSON, on standard output):\n"
    "  version                  library version and ABI check (needs no\n"
    "                           options)\n"
    "  pair CODE NAME           pair this device with an enrollment code\n"
    "  status                   pairing, queue and witness (local only)\n"
    "  records [QUERY_JSON]     list records; QUERY_JSON holds any of\n"
    "                           category, type, since, until, limit, cursor\n"
    "  record TYPE ID           one record\n"
    "  add RESOURCE_JSON        add a FHIR resource now\n"
    "  queue RESOURCE_JSON      keep a FHIR resource in the offline queue\n"
    "  sync                     send the queue, then verify the log\n"
    "  export                   everything, as a FHIR Bundle\n"
    "  consents                 list consents\n"
    "  grant GRANT_JSON         grant a consent\n"
    "  preview GRANT_JSON       what a grant would allow, storing nothing\n"
    "  revoke GRANT_ID          revoke a consent\n"
    "  restrictions [JSON]      show, or with JSON set, primary-use\n"
    "                           restrictions\n"
    "  opt-out on|off           research opt-out\n"
    "  log [--verify] [--limit N] [--before I]\n"
    "                           the access log; --verify checks every entry's\n"
    "                           inclusion proof and the checkpoint\n"
    "  devices                  the citizen's paired devices\n"
    "  revoke-device ID         cut another device off\n"
    "  unpair                   revoke this device, forget its key and queue\n"
    "  call METHOD PATH [BODY]  any other citizen route, signed\n"
    "A JSON argument given as \"-\" is read from standard input.\n"
    "\n"
    "Errors go to standard error as `tillit-app: VERB: code=CODE: MESSAGE`.\n"
    "Exit status: 0 success; 2 bad usage; 3 network (the server could not\n"
    "be reached: retry later); 4 log_fork, log_rollback or proof_invalid (the\n"
    "access log failed verification); 1 any other error.\n";

/* ---------------------------------------------------------------- output */

static void WipeBytes(unsigned char* p, size_t n) {
  volatile unsigned char* v = p;
  while (n-- > 0) *v++ = 0;
}

/* Writes `s` as a JSON string literal. */
static void PutJsonString(FILE* out, const char* s) {
  fputc('"', out);
  for (const unsigned char* p = (const unsigned char*)s; *p != '\0'; ++p) {
    switch (*p) {
      case '"':
        fputs("\\\"", out);
        break;
      case '\\':
        fputs("\\\\", out);
        break;
      case '\n':
        fputs("\\n", out);
        break;
      case '\r':
        fputs("\\r", out);
        break;
      case '\t':
        fputs("\\t", out);
        break;
      default:
        if (*p < 0x20) {
          fprintf(out, "\\u%04x", (unsigned)*p);
        } else {
          fputc(*p, out);
        }
    }
  }
  fputc('"', out);
}

/* Prints a library result and frees it. Returns the exit status. */
static int EmitResult(char* json) {
  fputs(json, stdout);
  fputc('\n', stdout);
  tillit_bridge_free(json);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "tillit-app: cannot write standard output: %s\n",
            strerror(errno));
    return kExitOther;
  }
  return kExitOk;
}

static int ExitStatusForCode(const char* code) {
  if (strcmp(code, "network") == 0) return kExitNetwork;
  if (strcmp(code, "log_fork") == 0 || strcmp(code, "log_rollback") == 0 ||
      strcmp(code, "proof_invalid") == 0) {
    return kExitLogIntegrity;
  }
  return kExitOther;
}

/* Reports a library error, frees it, and returns the exit status. A NULL
 * `err` (a failure the library did not explain) is reported as internal. */
static int EmitError(const char* verb, char* err) {
  const char* code = tillit_error_code(err);
  fprintf(stderr, "tillit-app: %s: code=%s: %s\n", verb, code,
          err != NULL ? err
                      : "the library failed without an error message "
                        "(a bug in the library)");
  const int status = ExitStatusForCode(code);
  tillit_bridge_free(err);
  return status;
}

/* The common ending of a call that returns a string. `result` and `err`
 * are owned and freed here. */
static int Finish(const char* verb, char* result, char* err) {
  if (err != NULL || result == NULL) {
    tillit_bridge_free(result);
    return EmitError(verb, err);
  }
  return EmitResult(result);
}

#if defined(__GNUC__)
#define TILLIT_APP_PRINTF(fmt_index, first_arg) \
  __attribute__((format(printf, fmt_index, first_arg)))
#else
#define TILLIT_APP_PRINTF(fmt_index, first_arg)
#endif

/* Reports a usage error; returns kExitUsage. */
static int UsageError(const char* fmt, ...) TILLIT_APP_PRINTF(1, 2);
static int UsageError(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fputs("tillit-app: ", stderr);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputs("\n(tillit-app --help for usage)\n", stderr);
  return kExitUsage;
}

/* -------------------------------------------------- the simulated keychain */

/* The key provider's context: the keychain directory. */
typedef struct {
  const char* dir;
} Keychain;

static int KeyFail(const char* name, const char* what, int err) {
  if (err != 0) {
    fprintf(stderr, "tillit-app: keychain: key \"%s\": %s: %s\n", name, what,
            strerror(err));
  } else {
    fprintf(stderr, "tillit-app: keychain: key \"%s\": %s\n", name, what);
  }
  return -1;
}

/* Names the bridge asks for are short identifiers; anything else (a slash,
 * a dot, an empty name) never becomes a path. */
static int IsKeyName(const char* name) {
  size_t n = 0;
  for (const char* p = name; *p != '\0'; ++p, ++n) {
    const char c = *p;
    const int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || n >= 64) return 0;
  }
  return n > 0;
}

/* Reads exactly `n` bytes, retrying short reads. 0 on success; -1 with
 * errno set on error (errno 0: end of file came first). */
static int ReadFull(int fd, unsigned char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = read(fd, buf + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) {
      errno = 0;
      return -1;
    }
    done += (size_t)r;
  }
  return 0;
}

static int WriteFull(int fd, const unsigned char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = write(fd, buf + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    done += (size_t)w;
  }
  return 0;
}

/* Creates `path` with 32 fresh random bytes unless it exists. 0 when it
 * was created or already existed; -1 (reported) otherwise. */
static int CreateKeyFileIfMissing(const char* name, const char* path) {
  const int fd =
      open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return 0;
    return KeyFail(name, "cannot create the key file", errno);
  }
  unsigned char fresh[kKeyLen];
  int rc = -1;
  const int rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (rnd < 0) {
    KeyFail(name, "cannot open /dev/urandom", errno);
  } else if (ReadFull(rnd, fresh, sizeof fresh) != 0) {
    KeyFail(name, "cannot read /dev/urandom", errno);
  } else if (WriteFull(fd, fresh, sizeof fresh) != 0) {
    KeyFail(name, "cannot write the key file", errno);
  } else if (fsync(fd) != 0) {
    KeyFail(name, "cannot sync the key file", errno);
  } else {
    rc = 0;
  }
  WipeBytes(fresh, sizeof fresh);
  if (rnd >= 0) close(rnd);
  if (close(fd) != 0 && rc == 0) rc = KeyFail(name, "cannot close", errno);
  /* Never leave a short key behind: the next run would refuse it. */
  if (rc != 0) unlink(path);
  return rc;
}

/* Reads the 32-byte key at `path` into `key`, refusing anything but a
 * private regular file of exactly 32 bytes owned by this user. */
static int ReadKeyFile(const char* name, const char* path, unsigned char* key) {
  const int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return KeyFail(name, "cannot open the key file", errno);
  struct stat st;
  int rc = -1;
  unsigned char extra;
  if (fstat(fd, &st) != 0) {
    KeyFail(name, "cannot stat the key file", errno);
  } else if (!S_ISREG(st.st_mode)) {
    KeyFail(name, "the key file is not a regular file", 0);
  } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    KeyFail(name,
            "the key file is accessible to group or others (must be 0600)", 0);
  } else if (st.st_uid != geteuid()) {
    KeyFail(name, "the key file belongs to another user", 0);
  } else if (st.st_size != kKeyLen) {
    KeyFail(name, "the key file is not exactly 32 bytes", 0);
  } else if (ReadFull(fd, key, kKeyLen) != 0) {
    KeyFail(name, "cannot read the key file", errno);
  } else if (read(fd, &extra, 1) != 0) {
    /* The file grew between fstat and read. */
    KeyFail(name, "the key file changed while it was read", 0);
  } else {
    rc = 0;
  }
  close(fd);
  if (rc != 0) WipeBytes(key, kKeyLen);
  return rc;
}

/* The tillit_key_fn: see tillit_bridge.h. */
static int KeychainProvide(void* ctx, const char* name, unsigned char* key,
                           size_t key_len) {
  const Keychain* keychain = (const Keychain*)ctx;
  if (keychain == NULL || name == NULL || key == NULL) return -1;
  if (!IsKeyName(name)) {
    fputs(
        "tillit-app: keychain: refusing a key name that is not an "
        "identifier\n",
        stderr);
    return -1;
  }
  if (key_len != kKeyLen) {
    return KeyFail(name, "the bridge asked for a key that is not 32 bytes", 0);
  }
  const size_t path_len = strlen(keychain->dir) + 1 + strlen(name) + 4 + 1;
  char* path = malloc(path_len);
  if (path == NULL) return KeyFail(name, "out of memory", ENOMEM);
  snprintf(path, path_len, "%s/%s.key", keychain->dir, name);
  int rc = CreateKeyFileIfMissing(name, path);
  if (rc == 0) rc = ReadKeyFile(name, path, key);
  free(path);
  return rc;
}

/* Creates the keychain directory 0700 if missing; refuses an existing one
 * that is not a directory or that group or others may enter. */
static int PrepareKeychainDir(const char* dir) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "tillit-app: keychain: cannot create %s: %s\n", dir,
            strerror(errno));
    return -1;
  }
  struct stat st;
  if (lstat(dir, &st) != 0) {
    fprintf(stderr, "tillit-app: keychain: cannot stat %s: %s\n", dir,
            strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "tillit-app: keychain: %s is not a directory\n", dir);
    return -1;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    fprintf(stderr,
            "tillit-app: keychain: %s is accessible to group or others "
            "(must be 0700)\n",
            dir);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------ arguments & verbs */

typedef struct {
  const char* url;
  const char* state;
  const char* keys;
  const char* audit_key;
  long timeout_ms; /* 0: the library's default */
} Config;

/* Parses a decimal integer from 0 to `max`; -1 if it is not one. */
static long ParseNumber(const char* s, long max) {
  if (s == NULL || *s == '\0') return -1;
  long v = 0;
  for (const char* p = s; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return -1;
    const long digit = *p - '0';
    if (v > (max - digit) / 10) return -1;
    v = v * 10 + digit;
  }
  return v;
}

/* Holds an argument's text: the argument itself, or (for "-") standard
 * input, which is then owned and freed by ArgTextFree. */
typedef struct {
  const char* text;
  size_t len;
  char* owned;
} ArgText;

/* Reads all of standard input into a new NUL-terminated buffer. NULL (and
 * a message on standard error) on failure. */
static char* ReadStdin(size_t* len_out) {
  size_t cap = 4096;
  size_t len = 0;
  char* buf = malloc(cap);
  if (buf == NULL) {
    fputs("tillit-app: out of memory reading standard input\n", stderr);
    return NULL;
  }
  for (;;) {
    if (len + 1 == cap) {
      char* bigger = cap <= kMaxStdinBytes ? realloc(buf, cap * 2) : NULL;
      if (bigger == NULL) {
        free(buf);
        fputs(cap <= kMaxStdinBytes
                  ? "tillit-app: out of memory reading standard input\n"
                  : "tillit-app: standard input is larger than 64 MiB\n",
              stderr);
        return NULL;
      }
      buf = bigger;
      cap *= 2;
    }
    const size_t n = fread(buf + len, 1, cap - 1 - len, stdin);
    len += n;
    if (n == 0) break;
  }
  buf[len] = '\0';
  const char* failure = NULL;
  if (ferror(stdin)) {
    failure = "cannot read standard input";
  } else if (strlen(buf) != len) {
    failure = "standard input holds a NUL byte";
  }
  if (failure != NULL) {
    free(buf);
    fprintf(stderr, "tillit-app: %s\n", failure);
    return NULL;
  }
  *len_out = len;
  return buf;
}

static int ArgTextLoad(const char* arg, ArgText* out) {
  out->owned = NULL;
  if (strcmp(arg, "-") != 0) {
    out->text = arg;
    out->len = strlen(arg);
    return 0;
  }
  out->owned = ReadStdin(&out->len);
  out->text = out->owned;
  return out->owned != NULL ? 0 : -1;
}

static void ArgTextFree(ArgText* t) {
  free(t->owned);
  t->owned = NULL;
}

typedef enum { kNoJson, kJsonArg } JsonArity;

/* A verb that takes one JSON (or "-") argument and returns a string. */
typedef char* (*JsonCall)(tillit_client_t*, const char*, char**);

static int RunJsonVerb(const char* verb, tillit_client_t* client, JsonCall call,
                       const char* arg) {
  ArgText t;
  if (ArgTextLoad(arg, &t) != 0) return kExitOther;
  char* err = NULL;
  char* result = call(client, t.text, &err);
  ArgTextFree(&t);
  return Finish(verb, result, err);
}

static int CmdLog(tillit_client_t* client, int argc, char** argv) {
  int verify = 0;
  long limit = -1;
  long before = -1;
  for (int i = 0; i < argc; ++i) {
    if (strcmp(argv[i], "--verify") == 0) {
      verify = 1;
    } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
      limit = ParseNumber(argv[++i], 1000000);
      if (limit <= 0) return UsageError("log: bad --limit %s", argv[i]);
    } else if (strcmp(argv[i], "--before") == 0 && i + 1 < argc) {
      before = ParseNumber(argv[++i], 0x7fffffffL);
      if (before < 0) return UsageError("log: bad --before %s", argv[i]);
    } else {
      return UsageError("log: unexpected argument %s", argv[i]);
    }
  }
  /* {"verify":false,"limit":1000000,"before":2147483647} is 54 bytes. */
  char query[96];
  int n = snprintf(query, sizeof query, "{\"verify\":%s",
                   verify ? "true" : "false");
  if (limit > 0) {
    n += snprintf(query + n, sizeof query - (size_t)n, ",\"limit\":%ld", limit);
  }
  if (before >= 0) {
    n += snprintf(query + n, sizeof query - (size_t)n, ",\"before\":%ld",
                  before);
  }
  snprintf(query + n, sizeof query - (size_t)n, "}");
  char* err = NULL;
  char* result = tillit_access_log(client, query, &err);
  return Finish("log", result, err);
}

static int CmdCall(tillit_client_t* client, int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    return UsageError("usage: tillit-app [OPTIONS] call METHOD PATH [BODY]");
  }
  ArgText body = {NULL, 0, NULL};
  if (argc == 3 && ArgTextLoad(argv[2], &body) != 0) return kExitOther;
  int http_status = 0;
  char* err = NULL;
  char* result = tillit_call(client, argv[0], argv[1], body.text, body.len,
                             &http_status, &err);
  ArgTextFree(&body);
  return Finish("call", result, err);
}

static int CmdUnpair(tillit_client_t* client) {
  char* err = NULL;
  const int ok = tillit_unpair(client, &err);
  if (!ok || err != NULL) return EmitError("unpair", err);
  fputs("{\"unpaired\":true}\n", stdout);
  return fflush(stdout) == 0 ? kExitOk : kExitOther;
}

static int CmdVersion(void) {
  const char* version = tillit_bridge_version();
  const int abi = tillit_bridge_abi_version();
  const int compatible = abi == TILLIT_BRIDGE_ABI_VERSION;
  fputs("{\"version\":", stdout);
  PutJsonString(stdout, version != NULL ? version : "");
  printf(",\"abi_version\":%d,\"header_abi_version\":%d,\"compatible\":%s}\n",
         abi, TILLIT_BRIDGE_ABI_VERSION, compatible ? "true" : "false");
  if (fflush(stdout) != 0) return kExitOther;
  if (!compatible) {
    fprintf(stderr,
            "tillit-app: version: the loaded library has ABI %d, this app "
            "was built for ABI %d\n",
            abi, TILLIT_BRIDGE_ABI_VERSION);
    return kExitOther;
  }
  return kExitOk;
}

/* The expected argument count of each verb that talks to a client. */
typedef struct {
  const char* name;
  int min_args;
  int max_args;
  const char* usage;
} VerbSpec;

static const VerbSpec kVerbs[] = {
    {"pair", 2, 2, "pair CODE NAME"},
    {"status", 0, 0, "status"},
    {"records", 0, 1, "records [QUERY_JSON]"},
    {"record", 2, 2, "record TYPE ID"},
    {"add", 1, 1, "add RESOURCE_JSON"},
    {"queue", 1, 1, "queue RESOURCE_JSON"},
    {"sync", 0, 0, "sync"},
    {"export", 0, 0, "export"},
    {"consents", 0, 0, "consents"},
    {"grant", 1, 1, "grant GRANT_JSON"},
    {"preview", 1, 1, "preview GRANT_JSON"},
    {"revoke", 1, 1, "revoke GRANT_ID"},
    {"restrictions", 0, 1, "restrictions [JSON]"},
    {"opt-out", 1, 1, "opt-out on|off"},
    {"log", 0, 5, "log [--verify] [--limit N] [--before I]"},
    {"devices", 0, 0, "devices"},
    {"revoke-device", 1, 1, "revoke-device ID"},
    {"unpair", 0, 0, "unpair"},
    {"call", 2, 3, "call METHOD PATH [BODY]"},
};

static const VerbSpec* FindVerb(const char* name) {
  for (size_t i = 0; i < sizeof kVerbs / sizeof kVerbs[0]; ++i) {
    if (strcmp(kVerbs[i].name, name) == 0) return &kVerbs[i];
  }
  return NULL;
}

/* Runs a verb on an open client. REQUIRES: argc is within the verb's
 * VerbSpec bounds. */
static int RunVerb(tillit_client_t* client, const char* verb, int argc,
                   char** argv) {
  /* Verbs with their own argument handling. */
  if (strcmp(verb, "log") == 0) return CmdLog(client, argc, argv);
  if (strcmp(verb, "unpair") == 0) return CmdUnpair(client);
  if (strcmp(verb, "call") == 0) return CmdCall(client, argc, argv);
  if (strcmp(verb, "add") == 0) {
    return RunJsonVerb(verb, client, tillit_add_record, argv[0]);
  }
  if (strcmp(verb, "queue") == 0) {
    return RunJsonVerb(verb, client, tillit_queue_record, argv[0]);
  }
  if (strcmp(verb, "grant") == 0) {
    return RunJsonVerb(verb, client, tillit_grant_consent, argv[0]);
  }
  if (strcmp(verb, "preview") == 0) {
    return RunJsonVerb(verb, client, tillit_preview_consent, argv[0]);
  }
  if (strcmp(verb, "records") == 0 && argc == 1) {
    return RunJsonVerb(verb, client, tillit_list_records, argv[0]);
  }
  if (strcmp(verb, "restrictions") == 0 && argc == 1) {
    return RunJsonVerb(verb, client, tillit_set_restrictions, argv[0]);
  }

  /* Verbs that make one call returning a string. The call must complete
   * before `err` is read, hence the two steps. */
  char* err = NULL;
  char* result = NULL;
  if (strcmp(verb, "pair") == 0) {
    result = tillit_pair(client, argv[0], argv[1], &err);
  } else if (strcmp(verb, "status") == 0) {
    result = tillit_client_status(client, &err);
  } else if (strcmp(verb, "records") == 0) {
    result = tillit_list_records(client, NULL, &err);
  } else if (strcmp(verb, "record") == 0) {
    result = tillit_get_record(client, argv[0], argv[1], &err);
  } else if (strcmp(verb, "sync") == 0) {
    result = tillit_sync(client, &err);
  } else if (strcmp(verb, "export") == 0) {
    result = tillit_export(client, &err);
  } else if (strcmp(verb, "consents") == 0) {
    result = tillit_list_consents(client, &err);
  } else if (strcmp(verb, "revoke") == 0) {
    result = tillit_revoke_consent(client, argv[0], &err);
  } else if (strcmp(verb, "restrictions") == 0) {
    result = tillit_get_restrictions(client, &err);
  } else if (strcmp(verb, "opt-out") == 0) {
    int on;
    if (strcmp(argv[0], "on") == 0) {
      on = 1;
    } else if (strcmp(argv[0], "off") == 0) {
      on = 0;
    } else {
      return UsageError("opt-out: expected on or off, not %s", argv[0]);
    }
    result = tillit_set_research_opt_out(client, on, &err);
  } else if (strcmp(verb, "devices") == 0) {
    result = tillit_list_devices(client, &err);
  } else if (strcmp(verb, "revoke-device") == 0) {
    result = tillit_revoke_device(client, argv[0], &err);
  } else {
    /* FindVerb accepted a verb this function does not know: a bug here. */
    fprintf(stderr, "tillit-app: %s: code=internal: verb not implemented\n",
            verb);
    return kExitOther;
  }
  return Finish(verb, result, err);
}

/* Opens the client for `config`, runs the verb, closes the client. */
static int RunWithClient(const Config* config, const char* verb, int argc,
                         char** argv) {
  if (PrepareKeychainDir(config->keys) != 0) return kExitOther;
  Keychain keychain = {config->keys};
  tillit_options_t* options = tillit_options_create();
  if (options == NULL) {
    fputs("tillit-app: code=internal: tillit_options_create failed\n", stderr);
    return kExitOther;
  }
  tillit_options_set_base_url(options, config->url);
  tillit_options_set_state_dir(options, config->state);
  tillit_options_set_key_provider(options, KeychainProvide, &keychain);
  if (config->timeout_ms > 0) {
    tillit_options_set_timeout_ms(options, (int)config->timeout_ms);
  }
  if (config->audit_key != NULL) {
    tillit_options_set_audit_key(options, config->audit_key);
  }
  char* err = NULL;
  tillit_client_t* client = tillit_client_open(options, &err);
  /* The client copied what it needs. */
  tillit_options_destroy(options);
  if (client == NULL || err != NULL) {
    tillit_client_close(client);
    return EmitError("open", err);
  }
  const int status = RunVerb(client, verb, argc, argv);
  tillit_client_close(client);
  return status;
}

int main(int argc, char** argv) {
  Config config = {NULL, NULL, NULL, NULL, 0};
  int i = 1;
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(kUsage, stdout);
      return fflush(stdout) == 0 ? kExitOk : kExitOther;
    }
    if (strncmp(a, "--", 2) != 0) break; /* the verb */
    if (i + 1 >= argc) return UsageError("%s needs a value", a);
    const char* value = argv[++i];
    if (strcmp(a, "--url") == 0) {
      config.url = value;
    } else if (strcmp(a, "--state") == 0) {
      config.state = value;
    } else if (strcmp(a, "--keys") == 0) {
      config.keys = value;
    } else if (strcmp(a, "--audit-key") == 0) {
      config.audit_key = value;
    } else if (strcmp(a, "--timeout-ms") == 0) {
      config.timeout_ms = ParseNumber(value, 3600000);
      if (config.timeout_ms <= 0) {
        return UsageError("--timeout-ms: not a number of milliseconds: %s",
                          value);
      }
    } else {
      return UsageError("unknown option %s", a);
    }
  }
  if (i >= argc) return UsageError("no verb given");
  const char* verb = argv[i++];
  const int verb_argc = argc - i;
  char** verb_argv = argv + i;

  if (strcmp(verb, "version") == 0) {
    if (verb_argc != 0) return UsageError("%s takes no arguments", verb);
    return CmdVersion();
  }
  if (strcmp(verb, "help") == 0) {
    fputs(kUsage, stdout);
    return fflush(stdout) == 0 ? kExitOk : kExitOther;
  }
  const VerbSpec* spec = FindVerb(verb);
  if (spec == NULL) return UsageError("unknown verb %s", verb);
  if (verb_argc < spec->min_args || verb_argc > spec->max_args) {
    return UsageError("usage: tillit-app [OPTIONS] %s", spec->usage);
  }
  if (config.url == NULL || config.state == NULL || config.keys == NULL) {
    return UsageError("%s needs --url, --state and --keys", verb);
  }
  /* A library built for another ABI must not be called. */
  if (tillit_bridge_abi_version() != TILLIT_BRIDGE_ABI_VERSION) {
    fprintf(stderr,
            "tillit-app: code=internal: the loaded library has ABI %d, this "
            "app was built for ABI %d\n",
            tillit_bridge_abi_version(), TILLIT_BRIDGE_ABI_VERSION);
    return kExitOther;
  }
  return RunWithClient(&config, verb, verb_argc, verb_argv);
}
