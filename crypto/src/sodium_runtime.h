// Private to tillit_crypto: makes sure libsodium is initialised before a
// primitive runs, so no caller can forget InitCrypto().
//
// Thread-safety: callable from any thread.
#ifndef TILLIT_CRYPTO_SRC_SODIUM_RUNTIME_H_
#define TILLIT_CRYPTO_SRC_SODIUM_RUNTIME_H_

namespace tillit::crypto::internal {

// Calls sodium_init() once per process. Aborts if libsodium cannot
// initialise: no primitive can run safely without a randomness source, and
// no user input can cause this.
void EnsureSodium();

}  // namespace tillit::crypto::internal

#endif  // TILLIT_CRYPTO_SRC_SODIUM_RUNTIME_H_
