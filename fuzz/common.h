/*
 * common.h: what every fuzz harness shares: the libFuzzer entry points and
 * the fixed secrets that fuzz/gen_corpus.c makes the seed corpora with, so
 * that fuzzing starts from inputs that decrypt and decode.
 *
 * Each harness fuzz/<target>.c is built twice: as a libFuzzer binary
 * fuzz-<target> (-Dfuzz=true, clang) and, linked with fuzz/regress.c, as a
 * replayer of fuzz/corpus/<target>/ run by `meson test --suite
 * fuzz-regress`.  A harness returns 0; it calls abort() when an oracle (a
 * round trip, an invariant the decoder promises) fails.
 */
#ifndef CF_FUZZ_COMMON_H
#define CF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "repo/keyslot.h"

#define FUZZ_PASSWORD "coffer-fuzz"
/* The request the seeds of proto_auth are signed for (no body). */
#define FUZZ_METHOD "GET"
#define FUZZ_URI "/v1/r/fuzz/o/config/config"
#define FUZZ_SIGN_TS 1700000000
#define FUZZ_DEVICES 4
/* Largest decompressed size a harness allocates (the library's cap,
 * CF_BLOB_MAX_RAW, would cost 64 MiB per input). */
#define FUZZ_MAX_RAW (1u << 20)

extern const uint8_t fuzz_zone[CF_KEY_BYTES];
extern const uint8_t fuzz_repo_id[CF_REPO_ID_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** fuzz_keys(): the keys of fuzz_zone, made on first use; never NULL. */
const struct cf_keys *fuzz_keys(void);
/** fuzz_device_key(i, pk, sk): the Ed25519 key pair of fuzz device ${i}
 * (0-3), derived from fuzz_zone: device 0 signs the proto_auth seeds, and
 * devices 0-3 the chain seeds. */
void fuzz_device_key(unsigned i, uint8_t pk[static 32], uint8_t sk[static 64]);
/** fuzz_alloc(n): malloc() of exactly ${n} bytes (1 if 0); abort() on
 * failure; free() it. */
uint8_t *fuzz_alloc(size_t n);
/** fuzz_copy(p, n): a malloc()ed copy of exactly ${n} bytes, so that ASan
 * sees a read past the end of a field; free() it. */
uint8_t *fuzz_copy(const uint8_t *p, size_t n);
/** fuzz_str(p, n): a malloc()ed copy of ${n} bytes plus a NUL, exactly
 * sized: the C string a header or path parser would be handed. */
char *fuzz_str(const uint8_t *p, size_t n);
/** fuzz_touch(p, n): read every byte of a slice a decoder handed out. */
void fuzz_touch(const uint8_t *p, size_t n);
/** fuzz_check(ok, what): abort() with a message when an oracle fails. */
void fuzz_check(int ok, const char *what);

#endif
