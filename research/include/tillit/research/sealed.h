// Sealed release files (SPEC §5): an archive of named members (NDJSON
// files and manifest.json) sealed to a researcher's X25519 public key.
// A sealed box (crypto::SealedBoxSeal, libsodium's crypto_box_seal)
// carries a random file key; a secret stream (crypto::SecretStreamPusher,
// libsodium's crypto_secretstream_xchacha20poly1305) under that key
// carries the content in chunks, the last one tagged FINAL. The byte
// layout is in docs/RELEASE_FORMAT.md.
//
// The writer streams: memory stays one chunk whatever the archive's size.
// The reader refuses a file that is altered, truncated (at any point,
// chunk boundaries included), made for another key, or has anything after
// the final chunk, and then writes nothing.
//
// The reader writes its output files through an Env (default
// Env::Default()), so tests can fail a write or cut the power under it.
//
// Thread-safety: a SealedWriter is used by one thread at a time; the free
// functions are thread-safe.
#ifndef TILLIT_RESEARCH_SEALED_H_
#define TILLIT_RESEARCH_SEALED_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/random.h"

namespace tillit::research {

// A member name: 1..64 bytes of [A-Za-z0-9._-], not starting with '.'.
bool IsValidMemberName(std::string_view name);

// The most members one file may hold (writer and reader both enforce it).
inline constexpr size_t kMaxSealedMembers = 4096;

class SealedWriter {
 public:
  // Receives the sealed bytes in order; an error stops the writer.
  using Sink = std::function<Status(std::span<const uint8_t>)>;

  // Writes the header (the sealed file key and the stream header) to
  // `sink`; the file key comes from `random`. InvalidArgument for a public
  // key that cannot be sealed to.
  static StatusOr<std::unique_ptr<SealedWriter>> Start(
      const crypto::X25519PublicKey& recipient, Sink sink,
      crypto::Random& random = crypto::Random::System());

  virtual ~SealedWriter() = default;
  // Appends `bytes` to member `name` (created on first use, also by an
  // empty `bytes`; members may be appended to in any interleaving).
  // InvalidArgument for a bad name; ResourceExhausted for a member beyond
  // kMaxSealedMembers; FailedPrecondition after Finish or after the sink
  // failed.
  virtual Status Append(std::string_view name, std::string_view bytes) = 0;
  // Seals what is buffered with the FINAL tag. Nothing may follow. A
  // writer destroyed without Finish leaves output that every reader
  // refuses (it has no final chunk).
  virtual Status Finish() = 0;
};

// Opens the sealed file at `path` with `key` and writes its members as
// files (mode 0600) into `out_dir` (created with its parents if missing,
// mode 0700; must not already hold a member of the same name). Members are
// assembled in a private temporary directory beside `out_dir` and moved in
// only after the final chunk has been authenticated with nothing after
// it, so a refused file leaves nothing behind. Memory stays about two
// chunks whatever the file's size.
// DataLoss for an altered, truncated or extended file, the wrong key, or
// malformed content (bad member names included); InvalidArgument for a
// file that is not a tillit release (or another format version);
// AlreadyExists if `out_dir` already holds a member's name; NotFound for a
// missing `path`; FailedPrecondition if `out_dir` is not a directory;
// IoError when a write, fsync or move fails (and then nothing is left
// behind). Every member file is written, synced and moved through `env`.
Status OpenSealedFile(const std::string& path, const crypto::BoxKeyPair& key,
                      const std::string& out_dir, Env* env = Env::Default());

// A member written by DecryptSealedFile.
struct SealedMember {
  std::string name;
  uint64_t size = 0;  // bytes
};

// OpenSealedFile that also returns the members written, in the order of
// their first appearance in the file (for `tillit decrypt --json`).
StatusOr<std::vector<SealedMember>> DecryptSealedFile(
    const std::string& path, const crypto::BoxKeyPair& key,
    const std::string& out_dir, Env* env = Env::Default());

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_SEALED_H_
