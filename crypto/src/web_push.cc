#include "tillit/crypto/web_push.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sodium_runtime.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"

namespace tillit::crypto {
namespace {

// Owners of OpenSSL objects, freed (and cleared, for secrets) on scope exit.
struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct OpenSslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

constexpr char kGroupName[] = "prime256v1";
constexpr size_t kSaltSize = 16;
constexpr uint32_t kRecordSize = 4096;
constexpr size_t kHeaderSize = kSaltSize + 4 + 1 + kP256PublicKeySize;
constexpr size_t kTagSize = 16;

// Clears OpenSSL's error queue too: it is per thread, and an error left in
// it would be misread by the next TLS call on the same thread.
Status OpenSslError(std::string_view what) {
  ERR_clear_error();
  return Status::Internal("OpenSSL: " + std::string(what) + " failed");
}

std::unique_ptr<EC_GROUP, GroupFree> Group() {
  return std::unique_ptr<EC_GROUP, GroupFree>(
      EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
}

// An EVP_PKEY from parameters: the public point, and the private scalar
// when `scalar` is set.
StatusOr<Pkey> MakePkey(const P256PublicKey& pub, const BIGNUM* scalar) {
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                       kGroupName, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                        pub.data(), pub.size()) ||
      (scalar != nullptr &&
       !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar))) {
    return OpenSslError("key parameters");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(
      OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(
          ctx.get(), &raw,
          scalar != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
          params.get()) <= 0) {
    return OpenSslError("key import");
  }
  return Pkey(raw);
}

// HMAC-SHA-256 of the concatenation of `parts` under `key`.
std::array<uint8_t, 32> Hmac(
    std::span<const uint8_t> key,
    std::initializer_list<std::span<const uint8_t>> parts) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  for (std::span<const uint8_t> p : parts) {
    crypto_auth_hmacsha256_update(&state, p.data(), p.size());
  }
  std::array<uint8_t, 32> out{};
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
  return out;
}

// The content-encryption key and nonce of RFC 8291 §3.4 and RFC 8188 §2.2.
struct MessageKeys {
  SecretBytes cek;    // 16 bytes
  SecretBytes nonce;  // 12 bytes
};

}  // namespace

struct P256Key::Impl {
  Pkey pkey;
};

namespace {

StatusOr<SecretBytes> Ecdh(const P256Key& own, const P256PublicKey& peer) {
  TILLIT_ASSIGN_OR_RETURN(Pkey peer_key, MakePkey(peer, nullptr));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, own.impl().pkey.get(), nullptr));
  SecretBytes secret = SecretBytes::Allocate(32);
  size_t size = secret.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) <= 0 ||
      EVP_PKEY_derive(ctx.get(), secret.ExposeSecret(), &size) <= 0 ||
      size != 32) {
    return OpenSslError("ECDH");
  }
  return secret;
}

StatusOr<MessageKeys> MessageKeysFor(const SecretBytes& ecdh_secret,
                                     std::span<const uint8_t> auth,
                                     const P256PublicKey& ua_public,
                                     const P256PublicKey& as_public,
                                     std::span<const uint8_t> salt) {
  static constexpr uint8_t kOne[] = {1};
  static constexpr char kKeyInfo[] = "WebPush: info";  // with its NUL
  static constexpr char kCekInfo[] = "Content-Encoding: aes128gcm";
  static constexpr char kNonceInfo[] = "Content-Encoding: nonce";
  auto info = [](const char* text, size_t size) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text),
                                    size);  // the NUL included
  };
  std::array<uint8_t, 32> prk_key =
      Hmac(auth, {ecdh_secret.ExposeSecretSpan()});
  std::array<uint8_t, 32> ikm = Hmac(
      prk_key, {info(kKeyInfo, sizeof kKeyInfo), ua_public, as_public, kOne});
  std::array<uint8_t, 32> prk = Hmac(salt, {ikm});
  std::array<uint8_t, 32> cek =
      Hmac(prk, {info(kCekInfo, sizeof kCekInfo), kOne});
  std::array<uint8_t, 32> nonce =
      Hmac(prk, {info(kNonceInfo, sizeof kNonceInfo), kOne});
  MessageKeys keys{SecretBytes::CopyFrom(std::span(cek).first(16)),
                   SecretBytes::CopyFrom(std::span(nonce).first(12))};
  for (auto* a : {&prk_key, &ikm, &prk, &cek, &nonce}) {
    sodium_memzero(a->data(), a->size());
  }
  return keys;
}

// AES-128-GCM of `in` (encrypt) or of `in` less its tag (decrypt).
StatusOr<std::vector<uint8_t>> AesGcm(bool encrypt, const MessageKeys& keys,
                                      std::span<const uint8_t> in) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr,
                        keys.cek.ExposeSecret(), keys.nonce.ExposeSecret(),
                        encrypt ? 1 : 0) != 1) {
    return OpenSslError("AES-GCM setup");
  }
  const size_t text_size = encrypt ? in.size() : in.size() - kTagSize;
  std::vector<uint8_t> out(text_size + (encrypt ? kTagSize : 0));
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(),
                       static_cast<int>(text_size)) != 1) {
    return OpenSslError("AES-GCM");
  }
  if (!encrypt) {
    std::array<uint8_t, kTagSize> tag{};
    std::copy(in.end() - kTagSize, in.end(), tag.begin());
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize,
                            tag.data()) != 1) {
      return OpenSslError("AES-GCM tag");
    }
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    if (!encrypt) {
      sodium_memzero(out.data(), out.size());
      ERR_clear_error();
      return Status::PermissionDenied("push message does not decrypt");
    }
    return OpenSslError("AES-GCM");
  }
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                                     out.data() + text_size) != 1) {
    return OpenSslError("AES-GCM tag");
  }
  return out;
}

}  // namespace

P256Key::P256Key(std::unique_ptr<Impl> impl, const P256PublicKey& pub)
    : impl_(std::move(impl)), public_key_(pub) {}
P256Key::P256Key(P256Key&&) noexcept = default;
P256Key& P256Key::operator=(P256Key&&) noexcept = default;
P256Key::~P256Key() = default;

StatusOr<P256Key> P256Key::Generate() {
  internal::EnsureSodium();
  SecretBytes scalar = SecretBytes::Allocate(32);
  auto group = Group();
  std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  if (!group || !ctx) return OpenSslError("P-256 setup");
  const BIGNUM* order = EC_GROUP_get0_order(group.get());
  Bn d(BN_secure_new());
  Bn n_minus_1(BN_dup(order));
  if (!d || !n_minus_1 || !BN_sub_word(n_minus_1.get(), 1) ||
      !BN_priv_rand_range(d.get(), n_minus_1.get()) ||
      !BN_add_word(d.get(), 1) ||
      BN_bn2binpad(d.get(), scalar.ExposeSecret(), 32) != 32) {
    return OpenSslError("P-256 key generation");
  }
  return FromPrivate(scalar);
}

StatusOr<P256Key> P256Key::FromPrivate(const SecretBytes& scalar) {
  if (scalar.size() != 32) {
    return Status::InvalidArgument("a P-256 private key is 32 bytes");
  }
  auto group = Group();
  std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  Bn d(BN_secure_new());
  if (!group || !ctx || !d ||
      BN_bin2bn(scalar.ExposeSecret(), 32, d.get()) == nullptr) {
    return OpenSslError("P-256 setup");
  }
  if (BN_is_zero(d.get()) ||
      BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return Status::InvalidArgument("not a P-256 private key");
  }
  std::unique_ptr<EC_POINT, PointFree> point(EC_POINT_new(group.get()));
  P256PublicKey pub{};
  if (!point ||
      EC_POINT_mul(group.get(), point.get(), d.get(), nullptr, nullptr,
                   ctx.get()) != 1 ||
      EC_POINT_point2oct(group.get(), point.get(),
                         POINT_CONVERSION_UNCOMPRESSED, pub.data(), pub.size(),
                         ctx.get()) != pub.size()) {
    return OpenSslError("P-256 public key");
  }
  TILLIT_ASSIGN_OR_RETURN(Pkey pkey, MakePkey(pub, d.get()));
  auto impl = std::make_unique<Impl>();
  impl->pkey = std::move(pkey);
  return P256Key(std::move(impl), pub);
}

StatusOr<P256PublicKey> ParseP256PublicKey(std::span<const uint8_t> bytes) {
  const Status bad =
      Status::InvalidArgument("not an uncompressed P-256 public key");
  if (bytes.size() != kP256PublicKeySize || bytes[0] != 0x04) return bad;
  auto group = Group();
  std::unique_ptr<EC_POINT, PointFree> point(EC_POINT_new(group.get()));
  if (!group || !point) return OpenSslError("P-256 setup");
  // oct2point refuses a point that is not on the curve.
  if (EC_POINT_oct2point(group.get(), point.get(), bytes.data(), bytes.size(),
                         nullptr) != 1) {
    ERR_clear_error();
    return bad;
  }
  P256PublicKey out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

StatusOr<std::vector<uint8_t>> EncryptWebPushWith(
    std::span<const uint8_t> plaintext, const WebPushReceiver& receiver,
    const P256Key& sender, std::span<const uint8_t, 16> salt) {
  internal::EnsureSodium();
  if (plaintext.size() > kWebPushMaxPlaintext) {
    return Status::InvalidArgument("push message too long");
  }
  TILLIT_ASSIGN_OR_RETURN(P256PublicKey ua_public,
                          ParseP256PublicKey(receiver.p256dh));
  TILLIT_ASSIGN_OR_RETURN(SecretBytes secret, Ecdh(sender, ua_public));
  TILLIT_ASSIGN_OR_RETURN(MessageKeys keys,
                          MessageKeysFor(secret, receiver.auth, ua_public,
                                         sender.public_key(), salt));
  // One record, the last: the plaintext and the delimiter 0x02.
  std::vector<uint8_t> padded(plaintext.begin(), plaintext.end());
  padded.push_back(0x02);
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                          AesGcm(true, keys, padded));
  sodium_memzero(padded.data(), padded.size());
  std::vector<uint8_t> body(salt.begin(), salt.end());
  for (int shift : {24, 16, 8, 0}) body.push_back(kRecordSize >> shift);
  body.push_back(kP256PublicKeySize);
  body.insert(body.end(), sender.public_key().begin(),
              sender.public_key().end());
  body.insert(body.end(), sealed.begin(), sealed.end());
  return body;
}

StatusOr<std::vector<uint8_t>> EncryptWebPush(
    std::span<const uint8_t> plaintext, const WebPushReceiver& receiver) {
  TILLIT_ASSIGN_OR_RETURN(P256Key sender, P256Key::Generate());
  std::array<uint8_t, kSaltSize> salt{};
  Random::System().Fill(salt);
  return EncryptWebPushWith(plaintext, receiver, sender, salt);
}

StatusOr<std::vector<uint8_t>> DecryptWebPush(
    std::span<const uint8_t> body, const P256Key& receiver_key,
    std::span<const uint8_t, kWebPushAuthSize> auth) {
  internal::EnsureSodium();
  if (body.size() < kHeaderSize + kTagSize + 1 ||
      body[kSaltSize + 4] != kP256PublicKeySize) {
    return Status::InvalidArgument("not an aes128gcm push message");
  }
  uint32_t rs = 0;
  for (size_t i = 0; i < 4; ++i) rs = rs << 8 | body[kSaltSize + i];
  if (body.size() - kHeaderSize > rs) {
    return Status::InvalidArgument("a push message of more than one record");
  }
  TILLIT_ASSIGN_OR_RETURN(
      P256PublicKey as_public,
      ParseP256PublicKey(body.subspan(kSaltSize + 5, kP256PublicKeySize)));
  TILLIT_ASSIGN_OR_RETURN(SecretBytes secret, Ecdh(receiver_key, as_public));
  TILLIT_ASSIGN_OR_RETURN(
      MessageKeys keys, MessageKeysFor(secret, auth, receiver_key.public_key(),
                                       as_public, body.first(kSaltSize)));
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> padded,
                          AesGcm(false, keys, body.subspan(kHeaderSize)));
  // Padding is zeros after the delimiter, which is 0x02 in the last record.
  while (!padded.empty() && padded.back() == 0) padded.pop_back();
  if (padded.empty() || padded.back() != 0x02) {
    return Status::InvalidArgument("push message padding is malformed");
  }
  padded.pop_back();
  return padded;
}

StatusOr<std::string> VapidAuthorization(const P256Key& key,
                                         std::string_view audience,
                                         std::string_view subject,
                                         int64_t expires) {
  const nlohmann::json header = {{"typ", "JWT"}, {"alg", "ES256"}};
  const nlohmann::json claims = {{"aud", std::string(audience)},
                                 {"exp", expires},
                                 {"sub", std::string(subject)}};
  const std::string signing_input = Base64UrlEncode(AsBytes(header.dump())) +
                                    "." +
                                    Base64UrlEncode(AsBytes(claims.dump()));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  size_t der_size = 0;
  if (!md ||
      EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr,
                         key.impl().pkey.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_size,
                     reinterpret_cast<const uint8_t*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return OpenSslError("ES256 signing");
  }
  std::vector<uint8_t> der(der_size);
  if (EVP_DigestSign(md.get(), der.data(), &der_size,
                     reinterpret_cast<const uint8_t*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return OpenSslError("ES256 signing");
  }
  // JWS wants R || S, 32 bytes each, not DER (RFC 7518 §3.4).
  const uint8_t* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_size)));
  std::array<uint8_t, 64> raw{};
  if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32) != 32) {
    return OpenSslError("ES256 signature");
  }
  return "vapid t=" + signing_input + "." + Base64UrlEncode(raw) +
         ", k=" + Base64UrlEncode(key.public_key());
}

Status VerifyEs256Jws(std::string_view jws, const P256PublicKey& key) {
  const Status bad = Status::PermissionDenied("ES256 signature is invalid");
  const size_t last_dot = jws.rfind('.');
  if (last_dot == std::string_view::npos) return bad;
  auto raw = Base64UrlDecode(jws.substr(last_dot + 1));
  if (!raw.ok() || raw->size() != 64) return bad;
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw->data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw->data() + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return OpenSslError("ES256 signature");
  }
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_size <= 0) return OpenSslError("ES256 signature");
  std::unique_ptr<unsigned char, OpenSslFree> der_owner(der);
  TILLIT_ASSIGN_OR_RETURN(Pkey pkey, MakePkey(key, nullptr));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  const std::string_view input = jws.substr(0, last_dot);
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr,
                                  pkey.get()) != 1) {
    return OpenSslError("ES256 verification");
  }
  if (EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_size),
                       reinterpret_cast<const uint8_t*>(input.data()),
                       input.size()) != 1) {
    ERR_clear_error();
    return bad;
  }
  return Status::Ok();
}

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  std::string text = Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

StatusOr<std::vector<uint8_t>> Base64UrlDecode(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '+' || c == '/' || c == '=') {
      return Status::InvalidArgument("malformed base64url");
    }
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (standard.size() % 4 == 1) {
    return Status::InvalidArgument("malformed base64url");
  }
  while (standard.size() % 4 != 0) standard.push_back('=');
  auto bytes = Base64Decode(standard);
  if (!bytes.ok()) return Status::InvalidArgument("malformed base64url");
  return bytes;
}

}  // namespace tillit::crypto
