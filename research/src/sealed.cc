#include "tillit/research/sealed.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/secretstream.h"

namespace tillit::research {
namespace {

namespace fs = std::filesystem;

// The layout, as described in docs/RELEASE_FORMAT.md.
constexpr std::array<uint8_t, 8> kMagic = {'T', 'I', 'L', 'L',
                                           'I', 'T', 'R', 'F'};
constexpr uint32_t kVersion = 1;
constexpr size_t kPrefixSize = 12;  // magic + big-endian version
constexpr size_t kFileKeySize = crypto::kSecretStreamKeySize;
constexpr size_t kSealedKeySize = kFileKeySize + crypto::kSealedBoxOverhead;
constexpr size_t kStreamHeaderSize = crypto::kSecretStreamHeaderSize;
constexpr size_t kHeaderSize = kPrefixSize + kSealedKeySize + kStreamHeaderSize;
constexpr size_t kChunkPlaintext = 64 * 1024;
constexpr size_t kChunkOverhead = crypto::kSecretStreamChunkOverhead;
constexpr size_t kChunkCiphertext = kChunkPlaintext + kChunkOverhead;
constexpr size_t kMaxNameSize = 64;
// The writer splits longer appends into pieces of this size; the reader
// accepts any piece length a u32 holds.
constexpr size_t kMaxPieceSize = size_t{1} << 24;
constexpr size_t kRecordHeadMax = 2 + kMaxNameSize + 4;

static_assert(kFileKeySize == 32 && kSealedKeySize == 80 &&
              kStreamHeaderSize == 24 && kHeaderSize == 116 &&
              kChunkOverhead == 17);

std::array<uint8_t, kPrefixSize> Prefix() {
  std::array<uint8_t, kPrefixSize> p{};
  std::copy(kMagic.begin(), kMagic.end(), p.begin());
  p[8] = static_cast<uint8_t>(kVersion >> 24);
  p[9] = static_cast<uint8_t>(kVersion >> 16);
  p[10] = static_cast<uint8_t>(kVersion >> 8);
  p[11] = static_cast<uint8_t>(kVersion);
  return p;
}

uint32_t LoadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// ------------------------------------------------------------- writer

class StreamingSealedWriter final : public SealedWriter {
 public:
  StreamingSealedWriter(Sink sink, crypto::SecretStreamPusher stream)
      : sink_(std::move(sink)), stream_(std::move(stream)), prefix_(Prefix()) {
    buf_.reserve(kChunkPlaintext);
    out_.resize(kChunkCiphertext);
  }
  ~StreamingSealedWriter() override { crypto::Wipe(buf_); }

  Status Append(std::string_view name, std::string_view bytes) override {
    TILLIT_RETURN_IF_ERROR(CheckUsable());
    if (!IsValidMemberName(name)) {
      return Status::InvalidArgument(
          "bad member name (1 to 64 of A-Z a-z 0-9 . _ -, not starting with "
          "'.')");
    }
    bool first = false;
    if (!members_.contains(name)) {
      if (members_.size() >= kMaxSealedMembers) {
        return Status::ResourceExhausted("too many members in one release");
      }
      members_.emplace(name);
      first = true;
    }
    if (bytes.empty()) {
      return first ? PutRecord(name, bytes) : Status::Ok();
    }
    while (!bytes.empty()) {
      const std::string_view piece =
          bytes.substr(0, std::min(bytes.size(), kMaxPieceSize));
      TILLIT_RETURN_IF_ERROR(PutRecord(name, piece));
      bytes.remove_prefix(piece.size());
    }
    return Status::Ok();
  }

  Status Finish() override {
    TILLIT_RETURN_IF_ERROR(CheckUsable());
    finished_ = true;
    return Seal(/*final=*/true);
  }

 private:
  Status CheckUsable() const {
    if (finished_) {
      return Status::FailedPrecondition("sealed writer already finished");
    }
    if (!failure_.ok()) {
      return Status::FailedPrecondition("sealed writer stopped: " +
                                        failure_.message());
    }
    return Status::Ok();
  }

  // [u16 name length][name][u32 piece length][piece], big-endian.
  Status PutRecord(std::string_view name, std::string_view piece) {
    std::array<uint8_t, kRecordHeadMax> head{};
    size_t n = 0;
    head[n++] = static_cast<uint8_t>(name.size() >> 8);
    head[n++] = static_cast<uint8_t>(name.size());
    std::memcpy(head.data() + n, name.data(), name.size());
    n += name.size();
    const uint32_t len = static_cast<uint32_t>(piece.size());
    head[n++] = static_cast<uint8_t>(len >> 24);
    head[n++] = static_cast<uint8_t>(len >> 16);
    head[n++] = static_cast<uint8_t>(len >> 8);
    head[n++] = static_cast<uint8_t>(len);
    TILLIT_RETURN_IF_ERROR(Put({head.data(), n}));
    return Put({reinterpret_cast<const uint8_t*>(piece.data()), piece.size()});
  }

  // Buffers `data`, sealing a full chunk only when more bytes follow it, so
  // that the final chunk is never empty unless the whole stream is.
  Status Put(std::span<const uint8_t> data) {
    while (!data.empty()) {
      if (buf_.size() == kChunkPlaintext) {
        TILLIT_RETURN_IF_ERROR(Seal(/*final=*/false));
      }
      const size_t n = std::min(kChunkPlaintext - buf_.size(), data.size());
      buf_.insert(buf_.end(), data.begin(), data.begin() + n);
      data = data.subspan(n);
    }
    return Status::Ok();
  }

  // Seals what is buffered as the next chunk (the last one if `final`)
  // and hands it to the sink.
  Status Seal(bool final) {
    StatusOr<std::span<const uint8_t>> chunk =
        final ? stream_.PushFinal(buf_, prefix_, out_)
              : stream_.Push(buf_, prefix_, out_);
    if (!chunk.ok()) {
      failure_ = Status::Internal("secretstream push failed");
      return failure_;
    }
    crypto::Wipe(buf_);
    buf_.clear();
    Status s = sink_(*chunk);
    if (!s.ok()) failure_ = s;
    return s;
  }

  Sink sink_;
  crypto::SecretStreamPusher stream_;
  const std::array<uint8_t, kPrefixSize> prefix_;
  std::vector<uint8_t> buf_;  // plaintext of the chunk being filled
  std::vector<uint8_t> out_;  // one sealed chunk
  std::set<std::string, std::less<>> members_;
  bool finished_ = false;
  Status failure_;
};

// ------------------------------------------------------------- reader

// Closes a file descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_;
};

Status Errno(const std::string& what) {
  return Status::IoError(what + ": " + std::strerror(errno));
}

// `what` failed because the Env refused: IoError naming both.
Status IoFailure(const std::string& what, const Status& cause) {
  return Status::IoError(what + ": " + cause.message());
}

// Reads until `out` is full or end of file; returns the bytes read.
StatusOr<size_t> ReadUpTo(int fd, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t r = ::read(fd, out.data() + done, out.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("cannot read release file");
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

// The member files being assembled in the private temporary directory,
// written through `env`.
class MemberFiles {
 public:
  MemberFiles(Env* env, fs::path dir) : env_(env), dir_(std::move(dir)) {}
  MemberFiles(const MemberFiles&) = delete;
  MemberFiles& operator=(const MemberFiles&) = delete;
  ~MemberFiles() { CloseCurrent(); }

  // Makes `name` (already validated) the member that Write appends to.
  Status Begin(const std::string& name) {
    if (current_ != nullptr && current_->name == name) return Status::Ok();
    CloseCurrent();
    auto it = index_.find(name);
    if (it == index_.end() && members_.size() >= kMaxSealedMembers) {
      return Status::DataLoss("release content malformed: more than " +
                              std::to_string(kMaxSealedMembers) + " members");
    }
    const std::string path = (dir_ / name).string();
    StatusOr<std::unique_ptr<WritableFile>> file =
        it == index_.end()
            ? env_->NewWritableFile(path, 0600, /*exclusive=*/true)
            : env_->NewAppendableFile(path);
    if (!file.ok()) {
      if (file.status().code() == StatusCode::kAlreadyExists) {
        return Status::DataLoss("release content malformed: member names " +
                                name + " twice");
      }
      return IoFailure("cannot create member " + name, file.status());
    }
    file_ = std::move(file).value();
    if (it == index_.end()) {
      it = index_.emplace(name, members_.size()).first;
      members_.push_back({name, 0});
    }
    current_ = &members_[it->second];
    return Status::Ok();
  }

  Status Write(std::span<const uint8_t> bytes) {
    if (Status s = file_->Append(bytes); !s.ok()) {
      return IoFailure("cannot write member", s);
    }
    current_->size += bytes.size();
    return Status::Ok();
  }

  // Closes the open member and flushes every member to disk.
  Status Sync() {
    CloseCurrent();
    for (const SealedMember& m : members_) {
      StatusOr<std::unique_ptr<WritableFile>> file =
          env_->NewAppendableFile((dir_ / m.name).string());
      if (!file.ok()) {
        return IoFailure("cannot open member " + m.name, file.status());
      }
      Status synced = (*file)->Sync();
      (void)(*file)->Close();
      if (!synced.ok()) {
        return IoFailure("cannot sync member " + m.name, synced);
      }
    }
    (void)env_->SyncDirectory(dir_.string());  // best effort
    return Status::Ok();
  }

  const std::vector<SealedMember>& members() const { return members_; }

 private:
  // A close error is not reported here: Sync() reopens and fsyncs every
  // member, which reports a failed write-back.
  void CloseCurrent() {
    if (file_ != nullptr) (void)file_->Close();
    file_.reset();
    current_ = nullptr;
  }

  Env* const env_;
  fs::path dir_;
  std::vector<SealedMember> members_;
  std::map<std::string, size_t> index_;  // name -> position in members_
  SealedMember* current_ = nullptr;
  std::unique_ptr<WritableFile> file_;  // current_'s
};

// Parses the decrypted byte stream of records
// [u16 name length][name][u32 piece length][piece] and hands the pieces to
// MemberFiles. Records may span chunks.
class RecordParser {
 public:
  explicit RecordParser(MemberFiles& files) : files_(files) {}

  Status Feed(std::span<const uint8_t> data) {
    while (!data.empty()) {
      switch (stage_) {
        case Stage::kNameLength:
          if (!Take(data, 2)) break;
          name_size_ = (size_t{field_[0]} << 8) | field_[1];
          field_.clear();
          if (name_size_ == 0 || name_size_ > kMaxNameSize) {
            return Malformed("bad member name length");
          }
          stage_ = Stage::kName;
          break;
        case Stage::kName:
          if (!Take(data, name_size_)) break;
          name_.assign(field_.begin(), field_.end());
          field_.clear();
          if (!IsValidMemberName(name_)) return Malformed("bad member name");
          stage_ = Stage::kPieceLength;
          break;
        case Stage::kPieceLength:
          if (!Take(data, 4)) break;
          remaining_ = LoadBigEndian32(field_.data());
          field_.clear();
          TILLIT_RETURN_IF_ERROR(files_.Begin(name_));
          stage_ = remaining_ == 0 ? Stage::kNameLength : Stage::kPiece;
          break;
        case Stage::kPiece: {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
          TILLIT_RETURN_IF_ERROR(files_.Write(data.first(n)));
          data = data.subspan(n);
          remaining_ -= n;
          if (remaining_ == 0) stage_ = Stage::kNameLength;
          break;
        }
      }
    }
    return Status::Ok();
  }

  // The stream must end between records.
  Status Finish() const {
    if (stage_ != Stage::kNameLength || !field_.empty()) {
      return Malformed("content ends inside a member record");
    }
    return Status::Ok();
  }

 private:
  enum class Stage { kNameLength, kName, kPieceLength, kPiece };

  static Status Malformed(const std::string& why) {
    return Status::DataLoss("release content malformed: " + why);
  }

  // Moves bytes from `data` into field_ until it holds `size`; true then.
  bool Take(std::span<const uint8_t>& data, size_t size) {
    const size_t n = std::min(size - field_.size(), data.size());
    field_.insert(field_.end(), data.begin(), data.begin() + n);
    data = data.subspan(n);
    return field_.size() == size;
  }

  MemberFiles& files_;
  Stage stage_ = Stage::kNameLength;
  std::vector<uint8_t> field_;  // a length or name being collected
  size_t name_size_ = 0;
  std::string name_;
  uint64_t remaining_ = 0;  // bytes left in the current piece
};

// Where members end up, and the directories this call created (removed
// again unless the release was committed). Files are moved through `env`.
class OutputPlace {
 public:
  explicit OutputPlace(Env* env) : env_(env) {}
  OutputPlace(const OutputPlace&) = delete;
  OutputPlace& operator=(const OutputPlace&) = delete;
  ~OutputPlace() {
    if (committed_) return;
    std::error_code ec;
    if (!temp_.empty()) fs::remove_all(temp_, ec);
    if (created_out_) fs::remove(out_, ec);
    // The parents this call created, innermost first (each is empty).
    for (fs::path p = out_.parent_path();
         !created_top_.empty() && p.has_relative_path(); p = p.parent_path()) {
      fs::remove(p, ec);
      if (p == created_top_) break;
    }
  }

  // Resolves `out_dir` and refuses one that exists but is no directory.
  Status Resolve(const std::string& out_dir) {
    if (out_dir.empty()) {
      return Status::InvalidArgument("empty output directory name");
    }
    std::error_code ec;
    fs::path p = fs::absolute(out_dir, ec);
    if (!ec) p = fs::weakly_canonical(p, ec);
    if (ec) return Status::IoError("cannot resolve " + out_dir);
    p = p.lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    if (!p.has_relative_path() || p.filename() == "." || p.filename() == "..") {
      return Status::InvalidArgument("unusable output directory " + out_dir);
    }
    out_ = p;
    const fs::file_status st = fs::status(out_, ec);
    if (fs::exists(st) && !fs::is_directory(st)) {
      return Status::FailedPrecondition(out_dir +
                                        " exists and is not a directory");
    }
    return Status::Ok();
  }

  // Creates the parents of the output directory if missing, then a private
  // temporary directory beside it.
  Status MakeTemp() {
    std::error_code ec;
    const fs::path parent = out_.parent_path();
    fs::path top;
    for (fs::path p = parent; p.has_relative_path() && !fs::exists(p, ec);
         p = p.parent_path()) {
      top = p;
    }
    if (!top.empty()) {
      fs::create_directories(parent, ec);
      if (ec) {
        return Status::IoError("cannot create " + parent.string() + ": " +
                               ec.message());
      }
      created_top_ = top;
    }
    std::string tmpl =
        (parent / ("." + out_.filename().string() + ".tillit-open-XXXXXX"))
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Errno("cannot create a temporary directory beside " +
                   out_.string());
    }
    temp_ = tmpl;
    return Status::Ok();
  }

  // Moves the members into the output directory: the temporary directory
  // itself becomes it when it does not exist, else member by member.
  Status Commit(const std::vector<SealedMember>& members) {
    std::error_code ec;
    if (!fs::exists(out_, ec)) {
      if (env_->RenameNoReplace(temp_.string(), out_.string()).ok()) {
        committed_ = true;
        (void)env_->SyncDirectory(out_.parent_path().string());  // best effort
        return Status::Ok();
      }
      // Made meanwhile, or a file system that cannot rename a directory
      // without replacing: either way, go member by member (a real I/O
      // problem shows again there).
      if (::mkdir(out_.c_str(), 0700) == 0) {
        created_out_ = true;
      } else if (errno != EEXIST) {
        return Errno("cannot create " + out_.string());
      }
    }
    for (const SealedMember& m : members) {
      struct stat st;
      if (::lstat((out_ / m.name).c_str(), &st) == 0 || errno != ENOENT) {
        return Status::AlreadyExists((out_ / m.name).string() +
                                     " already exists");
      }
    }
    std::vector<std::string> moved;
    for (const SealedMember& m : members) {
      const std::string to = (out_ / m.name).string();
      Status s = env_->RenameNoReplace((temp_ / m.name).string(), to);
      if (!s.ok()) {
        s = s.code() == StatusCode::kAlreadyExists
                ? Status::AlreadyExists(to + " already exists")
                : IoFailure("cannot move member into " + out_.string(), s);
        for (const std::string& p : moved) (void)env_->RemoveFile(p);
        return s;
      }
      moved.push_back(to);
    }
    committed_ = true;
    fs::remove_all(temp_, ec);
    (void)env_->SyncDirectory(out_.string());  // best effort
    return Status::Ok();
  }

  const fs::path& temp() const { return temp_; }

 private:
  Env* const env_;
  fs::path out_;
  fs::path temp_;
  fs::path created_top_;  // the outermost parent this call created
  bool created_out_ = false;
  bool committed_ = false;
};

// Reads and checks the header; returns the stream it opens.
StatusOr<crypto::SecretStreamPuller> OpenHeader(int fd,
                                                const crypto::BoxKeyPair& key) {
  std::array<uint8_t, kHeaderSize> header{};
  TILLIT_ASSIGN_OR_RETURN(const size_t n, ReadUpTo(fd, header));
  if (n < kMagic.size() ||
      !std::equal(kMagic.begin(), kMagic.end(), header.begin())) {
    return Status::InvalidArgument("not a tillit release file");
  }
  if (n < kPrefixSize) {
    return Status::DataLoss("release truncated inside its header");
  }
  const uint32_t version = LoadBigEndian32(header.data() + kMagic.size());
  if (version != kVersion) {
    return Status::InvalidArgument("unsupported release format version " +
                                   std::to_string(version));
  }
  if (n < kHeaderSize) {
    return Status::DataLoss("release truncated inside its header");
  }
  StatusOr<crypto::SecretBytes> file_key = crypto::SealedBoxOpen(
      std::span<const uint8_t>(header).subspan(kPrefixSize, kSealedKeySize),
      key);
  if (!file_key.ok()) {
    if (file_key.status().code() != StatusCode::kDataLoss) {
      return file_key.status();
    }
    return Status::DataLoss(
        "release not sealed to this key, or its header was altered");
  }
  if (file_key->size() != kFileKeySize) {
    return Status::DataLoss("release header altered: bad file key");
  }
  StatusOr<crypto::SecretStreamPuller> stream =
      crypto::SecretStreamPuller::Create(
          *file_key, std::span<const uint8_t>(header).subspan(
                         kPrefixSize + kSealedKeySize, kStreamHeaderSize));
  if (!stream.ok()) return Status::DataLoss("release header altered");
  return stream;
}

// Decrypts every chunk into `files`; OK only when the FINAL chunk
// authenticated and nothing follows it.
Status ReadChunks(int fd, crypto::SecretStreamPuller& stream,
                  MemberFiles& files) {
  const std::array<uint8_t, kPrefixSize> prefix = Prefix();
  RecordParser parser(files);
  std::vector<uint8_t> sealed(kChunkCiphertext);
  std::vector<uint8_t> plain(kChunkPlaintext);
  for (uint64_t index = 0;; ++index) {
    const std::string where = "chunk " + std::to_string(index);
    TILLIT_ASSIGN_OR_RETURN(const size_t n, ReadUpTo(fd, sealed));
    if (n == 0) {
      return Status::DataLoss(index == 0 ? "release truncated after its header"
                                         : "release truncated after " + where +
                                               " (the final chunk is missing)");
    }
    StatusOr<crypto::PulledChunk> chunk =
        stream.Pull(std::span<const uint8_t>(sealed).first(n), prefix, plain);
    if (!chunk.ok()) {
      if (chunk.status().code() != StatusCode::kDataLoss) {
        return chunk.status();
      }
      return Status::DataLoss("release altered, truncated or extended: " +
                              where + " does not authenticate");
    }
    const std::span<const uint8_t> content = chunk->plaintext;
    if (chunk->tag == crypto::SecretStreamTag::kFinal) {
      std::array<uint8_t, 1> extra{};
      TILLIT_ASSIGN_OR_RETURN(const size_t more, ReadUpTo(fd, extra));
      if (more != 0) {
        return Status::DataLoss("release extended: data after the final chunk");
      }
      TILLIT_RETURN_IF_ERROR(parser.Feed(content));
      return parser.Finish();
    }
    if (chunk->tag != crypto::SecretStreamTag::kMessage) {
      return Status::DataLoss("release malformed: unexpected tag in " + where);
    }
    if (n != kChunkCiphertext) {
      return Status::DataLoss("release truncated after " + where +
                              " (the final chunk is missing)");
    }
    TILLIT_RETURN_IF_ERROR(parser.Feed(content));
  }
}

}  // namespace

bool IsValidMemberName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameSize || name[0] == '.') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

StatusOr<std::unique_ptr<SealedWriter>> SealedWriter::Start(
    const crypto::X25519PublicKey& recipient, Sink sink,
    crypto::Random& random) {
  if (!sink) return Status::InvalidArgument("no sink for the sealed writer");
  crypto::SecretBytes file_key = random.Secret(kFileKeySize);
  StatusOr<std::vector<uint8_t>> sealed_key =
      crypto::SealedBoxSeal(file_key.ExposeSecretSpan(), recipient);
  if (!sealed_key.ok() || sealed_key->size() != kSealedKeySize) {
    return Status::InvalidArgument(
        "the recipient's public key cannot be sealed to");
  }
  std::vector<uint8_t> header;
  header.reserve(kHeaderSize);
  const std::array<uint8_t, kPrefixSize> prefix = Prefix();
  header.insert(header.end(), prefix.begin(), prefix.end());
  header.insert(header.end(), sealed_key->begin(), sealed_key->end());
  StatusOr<crypto::SecretStreamPusher> stream =
      crypto::SecretStreamPusher::Create(file_key);
  if (!stream.ok()) return Status::Internal("secretstream init failed");
  const crypto::SecretStreamHeader& stream_header = stream->header();
  header.insert(header.end(), stream_header.begin(), stream_header.end());
  TILLIT_RETURN_IF_ERROR(sink(header));
  return std::unique_ptr<SealedWriter>(
      new StreamingSealedWriter(std::move(sink), std::move(stream).value()));
}

StatusOr<std::vector<SealedMember>> DecryptSealedFile(
    const std::string& path, const crypto::BoxKeyPair& key,
    const std::string& out_dir, Env* env) {
  OutputPlace place(env);
  TILLIT_RETURN_IF_ERROR(place.Resolve(out_dir));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return Errno("cannot open " + path);
  }
  FdCloser closer(fd);
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretStreamPuller stream,
                          OpenHeader(fd, key));
  TILLIT_RETURN_IF_ERROR(place.MakeTemp());
  std::vector<SealedMember> members;
  {
    MemberFiles files(env, place.temp());
    TILLIT_RETURN_IF_ERROR(ReadChunks(fd, stream, files));
    TILLIT_RETURN_IF_ERROR(files.Sync());
    members = files.members();
  }
  TILLIT_RETURN_IF_ERROR(place.Commit(members));
  return members;
}

Status OpenSealedFile(const std::string& path, const crypto::BoxKeyPair& key,
                      const std::string& out_dir, Env* env) {
  return DecryptSealedFile(path, key, out_dir, env).status();
}

}  // namespace tillit::research
