/*
 * liar: a writer that holds only what a write-only credential holds (the
 * chunk-ID, gear, index and mac keys and the box public key) and uses it
 * to lie: it stores, under the chunk id of FILE's content, the bytes of
 * JUNK instead, and NJUNK variants of JUNK under their own ids (so that
 * the lie's pack holds blobs no snapshot uses, and a prune repacks it).  A
 * later backup of FILE deduplicates against the lie.
 *
 *   liar [--vouched] REPO FILE JUNK
 *
 * --vouched: with the zone's own keys instead (what only a bug in a full
 * key holder's writer could do: readers trust its packs, and only check
 * --read-data hashes them).
 *
 * The passphrase comes from COFFER_PASSWORD_FILE (only to derive the
 * keys a credential would be given), the cache under COFFER_CACHE_DIR.
 *
 * Each of FILE and JUNK must fit in one chunk (a few KiB).
 * Exit: 0 stored, 1 error, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "compress/compress.h"
#include "crypto/crypto.h"
#include "repo/packer.h"
#include "repo/repo.h"

#define NJUNK 40

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = malloc(1u << 20);

	if (f == NULL || p == NULL) {
		fprintf(stderr, "liar: cannot read %s\n", path);
		exit(1);
	}
	*n = fread(p, 1, 1u << 20, f);
	fclose(f);
	return p;
}

int
main(int argc, char **argv)
{
	struct cf_keys *full, *wo;
	struct cf_packer *pk;
	struct cf_repo *r;
	struct cf_buf scratch;
	struct cf_err err = {0};
	struct cf_zc *zc;
	uint8_t idx[1][32], id[32], jid[32], *file, *junk, *pass;
	size_t fn, jn, pn;
	const char *pf = getenv("COFFER_PASSWORD_FILE");
	const char *cache = getenv("COFFER_CACHE_DIR");
	char croot[4096];

	int vouched = argc > 1 && strcmp(argv[1], "--vouched") == 0;

	argv += vouched;
	argc -= vouched;
	if (argc != 4 || pf == NULL || cache == NULL) {
		fprintf(stderr, "usage: liar [--vouched] REPO FILE JUNK "
		                "(COFFER_PASSWORD_FILE and COFFER_CACHE_DIR "
		                "set)\n");
		return 2;
	}
	/* a credential keeps a cache of its own */
	snprintf(croot, sizeof(croot), "%s/liar", cache);
	if (cf_crypto_init(&err))
		return 1;
	pass = slurp(pf, &pn);
	while (pn > 0 && (pass[pn - 1] == '\n' || pass[pn - 1] == '\r'))
		pn--;
	file = slurp(argv[2], &fn);
	junk = slurp(argv[3], &jn);
	r = cf_repo_open(argv[1], (const char *)pass, pn, croot, &err);
	if (r == NULL) {
		fprintf(stderr, "liar: %s\n", err.msg);
		return 1;
	}
	/* from here on, only what a write-only credential holds */
	full = r->keys;
	memcpy(idx[0], full->index, 32);
	wo = cf_keys_new_writeonly(full->id, full->gear,
	    (const uint8_t(*)[32])idx, 1, full->mac, full->box_pk, &err);
	if (wo == NULL)
		return 1;
	if (!vouched)
		r->keys = wo;
	cf_crypto_chunk_id(wo, file, fn, id);
	if (jn == 0)
		return 2;
	cf_buf_init(&scratch, 4u << 20);
	zc = cf_zc_new(3);
	if (zc == NULL || (pk = cf_packer_new(r, &err)) == NULL ||
	    cf_packer_add(pk, CF_BLOB_DATA, id, junk, jn, zc, &scratch, &err) <
	        0)
		goto fail;
	/* Blobs go to one of three open packs at random: with NJUNK of them,
	 * the lie shares its pack with one but for a chance of (2/3)^NJUNK. */
	for (int i = 0; i < NJUNK; i++) {
		junk[0] = (uint8_t)i;
		cf_crypto_chunk_id(wo, junk, jn, jid);
		if (cf_packer_add(pk, CF_BLOB_DATA, jid, junk, jn, zc, &scratch,
		        &err) < 0)
			goto fail;
	}
	if (cf_packer_flush(pk, &err) != 0)
		goto fail;
	cf_packer_free(pk);
	cf_zc_free(zc);
	cf_buf_release(&scratch);
	r->keys = full;
	cf_keys_free(wo);
	cf_repo_close(r);
	printf("%02x%02x%02x%02x%02x%02x%02x%02x\n", id[0], id[1], id[2], id[3],
	    id[4], id[5], id[6], id[7]);
	free(file);
	free(junk);
	free(pass);
	return 0;
fail:
	fprintf(stderr, "liar: %s\n", err.msg);
	return 1;
}
