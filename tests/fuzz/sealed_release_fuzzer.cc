// Fuzz target: the sealed release reader (research::DecryptSealedFile, what
// `tillit decrypt` runs), layout in docs/RELEASE_FORMAT.md.
//
// Random bytes never get past the authenticated encryption, so the target
// seals what the fuzzer gives: byte 0 is a set of flags, the rest is the
// decrypted content (the member records) unless flag kRaw asks for the
// rest to be the file itself (to reach the header checks). The file is
// sealed to a fixed test key pair and written to a per-process scratch
// directory (the reader has only a file API), then opened into `out` there.
//
//   kRaw        the rest is the whole file, as is
//   kSpill      the content starts inside a second chunk: the first, full
//               chunk holds a filler member and the first half of it
//   kNotFinal   the last chunk is tagged MESSAGE, not FINAL (truncated)
//   kExtend     one byte follows the final chunk
//   kCut        the file loses its last byte
//   kWrongKey   the file key is sealed to another key pair
//
// The last four must always be refused. A refused file leaves nothing
// behind (no `out`, no temporary directory) and is DataLoss or
// InvalidArgument; an opened file leaves exactly its members in `out`,
// with the sizes reported.
//
// The sealed box's ephemeral key and the stream header come from
// libsodium's CSPRNG (the crypto API takes no Random for them), so the
// file bytes differ between runs; what the reader decrypts does not.
// Durability is not what is tested here: the Env skips fsync.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "tillit/base/env.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secretstream.h"
#include "tillit/research/sealed.h"

namespace tillit::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr uint8_t kRaw = 1;
constexpr uint8_t kSpill = 2;
constexpr uint8_t kNotFinal = 4;
constexpr uint8_t kExtend = 8;
constexpr uint8_t kCut = 16;
constexpr uint8_t kWrongKey = 32;

// docs/RELEASE_FORMAT.md.
constexpr std::array<uint8_t, 12> kPrefix = {'T', 'I', 'L', 'L', 'I', 'T',
                                             'R', 'F', 0,   0,   0,   1};
constexpr size_t kChunkPlaintext = 64 * 1024;

// Files whose Sync() does nothing, and no directory fsync.
class UnsyncedFile final : public WritableFile {
 public:
  explicit UnsyncedFile(std::unique_ptr<WritableFile> file)
      : file_(std::move(file)) {}
  Status Append(std::span<const uint8_t> data) override {
    return file_->Append(data);
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override { return file_->Close(); }

 private:
  std::unique_ptr<WritableFile> file_;
};

class UnsyncedEnv final : public EnvWrapper {
 public:
  UnsyncedEnv() : EnvWrapper(Env::Default()) {}
  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, unsigned mode, bool exclusive) override {
    return Wrap(target()->NewWritableFile(path, mode, exclusive));
  }
  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return Wrap(target()->NewAppendableFile(path));
  }
  Status SyncDirectory(const std::string&) override { return Status::Ok(); }

 private:
  static StatusOr<std::unique_ptr<WritableFile>> Wrap(
      StatusOr<std::unique_ptr<WritableFile>> file) {
    if (!file.ok()) return file.status();
    return std::unique_ptr<WritableFile>(
        new UnsyncedFile(std::move(file).value()));
  }
};

// The per-process scratch directory, removed when the process exits
// normally. In memory (/dev/shm) where there is one.
class Scratch {
 public:
  Scratch() {
    std::error_code ec;
    std::string base = "/dev/shm";
    if (!fs::is_directory(base, ec) || ::access(base.c_str(), W_OK) != 0) {
      const char* tmp = ::getenv("TMPDIR");
      base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    std::string tmpl = base + "/tillit-sealed-fuzz-XXXXXX";
    TILLIT_FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

struct Keys {
  crypto::BoxKeyPair reader;
  crypto::BoxKeyPair other;
};

const Keys& TestKeys() {
  static const Keys* const keys = [] {
    crypto::DeterministicRandom a(1), b(2);
    return new Keys{crypto::BoxKeyPair::Generate(a),
                    crypto::BoxKeyPair::Generate(b)};
  }();
  return *keys;
}

void Append(std::vector<uint8_t>* out, std::span<const uint8_t> bytes) {
  out->insert(out->end(), bytes.begin(), bytes.end());
}

// A sealed file whose decrypted content is `plain`, cut into chunks as the
// writer does (a full chunk only when more follows).
std::vector<uint8_t> Seal(std::span<const uint8_t> plain, uint8_t flags) {
  const Keys& keys = TestKeys();
  crypto::DeterministicRandom rng(3);
  const crypto::SecretBytes file_key = rng.Secret(32);
  StatusOr<std::vector<uint8_t>> sealed_key =
      crypto::SealedBoxSeal(file_key.ExposeSecretSpan(),
                            (flags & kWrongKey) != 0 ? keys.other.public_key
                                                     : keys.reader.public_key);
  TILLIT_FUZZ_CHECK(sealed_key.ok());
  StatusOr<crypto::SecretStreamPusher> stream =
      crypto::SecretStreamPusher::Create(file_key);
  TILLIT_FUZZ_CHECK(stream.ok());

  std::vector<uint8_t> file;
  Append(&file, kPrefix);
  Append(&file, *sealed_key);
  Append(&file, stream->header());
  std::vector<uint8_t> chunk(kChunkPlaintext +
                             crypto::kSecretStreamChunkOverhead);
  while (plain.size() > kChunkPlaintext) {
    auto c = stream->Push(plain.first(kChunkPlaintext), kPrefix, chunk);
    TILLIT_FUZZ_CHECK(c.ok());
    Append(&file, *c);
    plain = plain.subspan(kChunkPlaintext);
  }
  auto last = (flags & kNotFinal) != 0
                  ? stream->Push(plain, kPrefix, chunk)
                  : stream->PushFinal(plain, kPrefix, chunk);
  TILLIT_FUZZ_CHECK(last.ok());
  Append(&file, *last);
  if ((flags & kExtend) != 0) file.push_back(0);
  if ((flags & kCut) != 0) file.pop_back();
  return file;
}

// The decrypted content: with kSpill, a filler record that ends where the
// first chunk is half-way into `content`.
std::vector<uint8_t> Content(std::span<const uint8_t> content, uint8_t flags) {
  std::vector<uint8_t> plain;
  if ((flags & kSpill) != 0) {
    constexpr std::string_view kName = "filler";
    const size_t head = 2 + kName.size() + 4;
    const size_t in_first =
        std::min(content.size() / 2, kChunkPlaintext - head);
    const uint32_t piece =
        static_cast<uint32_t>(kChunkPlaintext - head - in_first);
    plain.push_back(0);
    plain.push_back(static_cast<uint8_t>(kName.size()));
    plain.insert(plain.end(), kName.begin(), kName.end());
    for (int shift = 24; shift >= 0; shift -= 8) {
      plain.push_back(static_cast<uint8_t>(piece >> shift));
    }
    plain.resize(plain.size() + piece, 0);
  }
  Append(&plain, content);
  return plain;
}

// The names in `dir`; nullopt when it cannot be listed (it does not exist).
std::optional<std::set<std::string>> Entries(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return std::nullopt;
  std::set<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    names.insert(it->path().filename().string());
  }
  return names;
}

}  // namespace
}  // namespace tillit::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  static Scratch scratch;
  static UnsyncedEnv env;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::span<const uint8_t> rest(data + 1, size - 1);

  std::vector<uint8_t> plain;
  std::vector<uint8_t> file;
  if ((flags & kRaw) != 0) {
    file.assign(rest.begin(), rest.end());
  } else {
    plain = Content(rest, flags);
    file = Seal(plain, flags);
  }
  const fs::path release = scratch.dir() / "release.tillit";
  const fs::path out = scratch.dir() / "out";
  {
    std::ofstream f(release, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(file.data()),
            static_cast<std::streamsize>(file.size()));
    TILLIT_FUZZ_CHECK(f.good());
  }

  StatusOr<std::vector<research::SealedMember>> members =
      research::DecryptSealedFile(release.string(), TestKeys().reader,
                                  out.string(), &env);
  // kExtend and kCut together add a byte and take it away again.
  const bool resized = ((flags & kExtend) != 0) != ((flags & kCut) != 0);
  const bool must_fail = (flags & kRaw) == 0 &&
                         ((flags & (kNotFinal | kWrongKey)) != 0 || resized);
  if (members.ok()) {
    TILLIT_FUZZ_CHECK(!must_fail);
    TILLIT_FUZZ_CHECK(members->size() <= research::kMaxSealedMembers);
    std::set<std::string> names;
    uint64_t total = 0;
    for (const research::SealedMember& m : *members) {
      TILLIT_FUZZ_CHECK(research::IsValidMemberName(m.name));
      TILLIT_FUZZ_CHECK(names.insert(m.name).second);
      std::error_code ec;
      TILLIT_FUZZ_CHECK(fs::file_size(out / m.name, ec) == m.size && !ec);
      total += m.size;
    }
    TILLIT_FUZZ_CHECK((flags & kRaw) != 0 || total <= plain.size());
    // `out` holds the members and nothing else.
    TILLIT_FUZZ_CHECK(Entries(out) == names);
  } else {
    const StatusCode code = members.status().code();
    TILLIT_FUZZ_CHECK(code == StatusCode::kDataLoss ||
                      code == StatusCode::kInvalidArgument);
    // A refused file leaves nothing behind.
    TILLIT_FUZZ_CHECK(Entries(scratch.dir()) ==
                      std::set<std::string>{"release.tillit"});
  }
  std::error_code ec;
  fs::remove_all(out, ec);
  return 0;
}
