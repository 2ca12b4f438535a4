/*
 * forge: the hostile operator's toolbox for tests/hostile.  It holds no
 * key of any account: it forges what a server could forge, with keys of
 * its own, and (for the removed-device test) plays a device that kept its
 * old keys.
 *
 *   forge show RECORD
 *       decode a chain record (signature checked) as "key value" lines:
 *       seq, name, prev, type, epoch, commit, signer, role, ed, x, subject
 *       (the subject's name) and one "wrap MEMBER OBJECT" line per wrap.
 *   forge append RECORD OUT [--type add|remove] [--epoch N] [--commit HEX]
 *         [--subject-ed HEX --subject-x HEX] [--name NAME]
 *         [--wrap ED:OBJ]... [--impersonate ED] [--key-out FILE]
 *       a record that follows RECORD (seq + 1, prev = its name), signed by
 *       a fresh Ed25519 key of the operator's ("ghost").  By default it adds
 *       the ghost itself, in RECORD's epoch with RECORD's commitment, with a
 *       wrap naming a random object.  --impersonate puts a trusted device's
 *       key in the signer field (the signature is still the ghost's).
 *       Prints the record's name.
 *   forge genesis OUT
 *       the first record of an account of the operator's own (a fresh key,
 *       its wrap naming a random object); prints the record's name.
 *   forge seal XPK EPOCH OUT
 *       an account-key wrap sealed to X25519 key XPK with an account key of
 *       the operator's choosing; prints "NAME AKHEX COMMITHEX".
 *   forge unwrap CFGDIR WRAP
 *       open an account-key wrap with the device key in CFGDIR (what a
 *       device holds); prints "AKHEX EPOCH".
 *   forge tryzone AKHEX EPOCH DIR
 *       DIR holds a copy of a zone (config, keys/, snapshots/, data/,
 *       index/, one file per object): open every account slot with the
 *       account key, then try every snapshot, pack footer and index file
 *       with the key ring obtained.  Prints "KIND NAME opened|refused".
 * Exit: 0 done, 1 error, 2 usage.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "account/account.h"
#include "account/chain.h"
#include "crypto/crypto.h"
#include "device/device.h"
#include "pack/pack.h"
#include "repo/keyslot.h"
#include "repo/repo.h"

#define WRAP_PLAIN 36

static int
die(const char *msg, const char *detail)
{
	fprintf(stderr, "forge: %s%s%s\n", msg, detail ? ": " : "",
	    detail ? detail : "");
	exit(1);
}

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long len = 0;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		die("cannot read", path);
	if ((p = malloc((size_t)len + 1)) == NULL)
		die("out of memory", NULL);
	if (fread(p, 1, (size_t)len, f) != (size_t)len)
		die("cannot read", path);
	fclose(f);
	*n = (size_t)len;
	return p;
}

static void
spit(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("cannot write", path);
}

static void
unhex32(uint8_t out[32], const char *s, const char *what)
{
	if (strlen(s) != 64 || cf_unhex(out, 32, s) != 0)
		die("expected 64 hex digits", what);
}

static void
puthex(const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * 256 + 1];

	cf_hex(hex, p, n);
	printf("%s %s\n", key, hex);
}

static void
decode_file(const char *path, struct cf_record *r, uint8_t name[32])
{
	struct cf_err err = {0};
	size_t n;
	uint8_t *p = slurp(path, &n);

	if (cf_record_decode(p, n, r, &err) != 0)
		die(err.msg, path);
	cf_record_name(p, n, name);
	free(p);
}

static int
cmd_show(int argc, char **argv)
{
	struct cf_record *r = calloc(1, sizeof(*r));
	uint8_t name[32];

	if (argc != 3 || r == NULL)
		return 2;
	decode_file(argv[2], r, name);
	printf("seq %llu\n", (unsigned long long)r->seq);
	puthex("name", name, 32);
	puthex("prev", r->prev, 32);
	printf("type %u\nepoch %u\n", r->type, r->epoch);
	puthex("commit", r->ak_commit, 32);
	puthex("signer", r->signer, 32);
	printf("role %u\n", r->subject.role);
	puthex("ed", r->subject.ed, 32);
	puthex("x", r->subject.x, 32);
	printf("subject %s\n", r->subject.name);
	for (size_t i = 0; i < r->nwraps; i++) {
		char m[65], o[65];

		cf_hex(m, r->wraps[i].member, 32);
		cf_hex(o, r->wraps[i].object, 32);
		printf("wrap %s %s\n", m, o);
	}
	free(r);
	return 0;
}

static int
cmd_append(int argc, char **argv)
{
	struct cf_record *prev = calloc(1, sizeof(*prev));
	struct cf_record *r = calloc(1, sizeof(*r));
	uint8_t pname[32], sk[64], pk[32], name[32];
	struct cf_err err = {0};
	const char *keyout = NULL;
	int have_subject = 0, impersonate = 0, have_wrap = 0;
	struct cf_buf b;

	if (argc < 4 || prev == NULL || r == NULL)
		return 2;
	decode_file(argv[2], prev, pname);
	crypto_sign_keypair(pk, sk);
	r->seq = prev->seq + 1;
	memcpy(r->prev, pname, 32);
	r->type = CF_REC_ADD;
	r->time = (int64_t)time(NULL);
	r->epoch = prev->epoch;
	memcpy(r->ak_commit, prev->ak_commit, 32);
	r->subject.role = CF_ROLE_DEVICE;
	snprintf(r->subject.name, sizeof(r->subject.name), "%s", "ghost");
	memcpy(r->signer, pk, 32);
	for (int i = 4; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			return 2;
		i++;
		if (!strcmp(o, "--type"))
			r->type =
			    !strcmp(v, "remove") ? CF_REC_REMOVE : CF_REC_ADD;
		else if (!strcmp(o, "--epoch"))
			r->epoch = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--commit"))
			unhex32(r->ak_commit, v, o);
		else if (!strcmp(o, "--subject-ed")) {
			unhex32(r->subject.ed, v, o);
			have_subject = 1;
		} else if (!strcmp(o, "--subject-x"))
			unhex32(r->subject.x, v, o);
		else if (!strcmp(o, "--name"))
			snprintf(r->subject.name, sizeof(r->subject.name), "%s",
			    v);
		else if (!strcmp(o, "--wrap")) {
			char ed[65], obj[65];

			if (strlen(v) != 129 || v[64] != ':' ||
			    r->nwraps == CF_CHAIN_MAX_MEMBERS)
				die("--wrap takes ED:OBJECT", v);
			memcpy(ed, v, 64);
			ed[64] = '\0';
			memcpy(obj, v + 65, 65);
			unhex32(r->wraps[r->nwraps].member, ed, o);
			unhex32(r->wraps[r->nwraps].object, obj, o);
			r->nwraps++;
			have_wrap = 1;
		} else if (!strcmp(o, "--impersonate")) {
			unhex32(r->signer, v, o);
			impersonate = 1;
		} else if (!strcmp(o, "--key-out"))
			keyout = v;
		else
			return 2;
	}
	if (!have_subject) {
		memcpy(r->subject.ed, pk, 32);
		if (crypto_sign_ed25519_pk_to_curve25519(r->subject.x, pk) != 0)
			die("key conversion failed", NULL);
	}
	if (!have_wrap) {
		memcpy(r->wraps[0].member, r->subject.ed, 32);
		randombytes_buf(r->wraps[0].object, 32);
		r->nwraps = 1;
	}
	if (impersonate)
		memcpy(sk + 32, r->signer, 32); /* sign as the ghost anyway */
	cf_buf_init(&b, 1u << 20);
	if (cf_record_encode(r, sk, &b, &err) != 0)
		die(err.msg, NULL);
	spit(argv[3], b.p, b.len);
	if (keyout != NULL)
		spit(keyout, sk, 64);
	cf_record_name(b.p, b.len, name);
	{
		char hex[65];

		cf_hex(hex, name, 32);
		printf("%s\n", hex);
	}
	cf_buf_release(&b);
	free(prev);
	free(r);
	return 0;
}

static int
cmd_genesis(int argc, char **argv)
{
	struct cf_record *r = calloc(1, sizeof(*r));
	struct cf_err err = {0};
	uint8_t sk[64], name[32];
	char hex[65];
	struct cf_buf b;

	if (argc != 3 || r == NULL)
		return 2;
	crypto_sign_keypair(r->signer, sk);
	r->type = CF_REC_GENESIS;
	r->time = (int64_t)time(NULL);
	r->epoch = 1;
	randombytes_buf(r->ak_commit, 32);
	r->subject.role = CF_ROLE_DEVICE;
	memcpy(r->subject.ed, r->signer, 32);
	if (crypto_sign_ed25519_pk_to_curve25519(r->subject.x, r->signer) != 0)
		die("key conversion failed", NULL);
	snprintf(r->subject.name, sizeof(r->subject.name), "%s", "laptop");
	memcpy(r->wraps[0].member, r->signer, 32);
	randombytes_buf(r->wraps[0].object, 32);
	r->nwraps = 1;
	cf_buf_init(&b, 1u << 20);
	if (cf_record_encode(r, sk, &b, &err) != 0)
		die(err.msg, NULL);
	spit(argv[2], b.p, b.len);
	cf_record_name(b.p, b.len, name);
	cf_hex(hex, name, 32);
	printf("%s\n", hex);
	cf_buf_release(&b);
	free(r);
	return 0;
}

static int
cmd_seal(int argc, char **argv)
{
	uint8_t x[32], plain[WRAP_PLAIN],
	    sealed[WRAP_PLAIN + crypto_box_SEALBYTES];
	uint8_t name[32], commit[32];
	char h1[65], h2[65], h3[65];

	if (argc != 5)
		return 2;
	unhex32(x, argv[2], "XPK");
	randombytes_buf(plain, 32);
	cf_le32_put(plain + 32, (uint32_t)strtoul(argv[3], NULL, 10));
	if (crypto_box_seal(sealed, plain, sizeof(plain), x) != 0)
		die("crypto_box_seal failed", NULL);
	spit(argv[4], sealed, sizeof(sealed));
	cf_crypto_hash(sealed, sizeof(sealed), name);
	cf_ak_commit(plain, commit);
	cf_hex(h1, name, 32);
	cf_hex(h2, plain, 32);
	cf_hex(h3, commit, 32);
	printf("%s %s %s\n", h1, h2, h3);
	return 0;
}

static int
cmd_unwrap(int argc, char **argv)
{
	struct cf_err err = {0};
	struct cf_device *dev;
	struct cf_identity id;
	uint8_t plain[WRAP_PLAIN];
	char hex[65];
	uint8_t *p;
	size_t n;

	if (argc != 4)
		return 2;
	if ((dev = cf_device_load(argv[2], 0, &err)) == NULL)
		die(err.msg, argv[2]);
	cf_identity_from_sk(&id, dev->sk);
	cf_device_free(dev);
	p = slurp(argv[3], &n);
	if (n != sizeof(plain) + crypto_box_SEALBYTES ||
	    crypto_box_seal_open(plain, p, n, id.xpk, id.xsk) != 0)
		die("the wrap does not open with this device's key", argv[3]);
	cf_hex(hex, plain, 32);
	printf("%s %u\n", hex, cf_le32_get(plain + 32));
	sodium_memzero(&id, sizeof(id));
	free(p);
	return 0;
}

/* Each regular file of DIR/SUB, by name. */
typedef void (*each_fn)(void *arg, const char *path, const char *name);

static void
each_file(const char *dir, const char *sub, each_fn fn, void *arg)
{
	char path[4096], file[8192];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		fn(arg, file, e->d_name);
	}
	closedir(d);
}

struct zonectx {
	uint8_t id[CF_REPO_ID_BYTES];
	uint8_t ak[32];
	uint32_t epoch;
	uint8_t (*secrets)[CF_KEY_BYTES];
	size_t count;
	struct cf_keys *keys;
};

static void
try_slot(void *arg, const char *path, const char *name)
{
	struct zonectx *z = arg;
	struct cf_slotinfo info;
	struct cf_err err = {0};
	size_t n, count = 0;
	uint8_t *p = slurp(path, &n);
	uint8_t(*sec)[CF_KEY_BYTES] =
	    sodium_malloc((CF_MAX_VERSIONS + 1) * CF_KEY_BYTES);

	if (sec == NULL)
		die("out of memory", NULL);
	if (cf_keyslot_parse(p, n, &info, &err) != 0 ||
	    info.type != CF_SLOT_ACCOUNT) {
		printf("slot %s other\n", name);
	} else if (cf_keyslot_open_account(p, n, z->id, z->ak, sec, &count,
	               &err) == 0) {
		printf("slot %s opened epoch %u versions %zu\n", name,
		    info.epoch, count);
		if (count > z->count) { /* the largest ring this key opens */
			memcpy(z->secrets, sec, count * CF_KEY_BYTES);
			z->count = count;
		}
	} else {
		printf("slot %s refused epoch %u\n", name, info.epoch);
	}
	sodium_free(sec);
	free(p);
}

static void
try_object(struct zonectx *z, const char *kind, const char *path,
    const char *name)
{
	struct cf_err err = {0};
	uint8_t *p, *plain = NULL, key[CF_KEY_BYTES];
	size_t n, pn = 0;
	uint64_t hoff;
	uint32_t hlen;
	int ok;

	p = slurp(path, &n);
	if (!strcmp(kind, "snapshot"))
		ok = cf_env_open(z->keys, CF_OBJ_SNAPSHOT, p, n, &plain, &pn,
		         &err) == 0;
	else if (!strcmp(kind, "index"))
		ok = cf_keys_sym_open(z->keys, CF_OBJ_INDEX, p, n, &plain, &pn,
		         &err) == 0;
	else
		ok = n >= CF_PACK_FOOTER_BYTES &&
		     cf_pack_footer_open(z->keys, p + n - CF_PACK_FOOTER_BYTES,
		         n, key, &hoff, &hlen, &err) == 0;
	printf("%s %s %s\n", kind, name, ok ? "opened" : "refused");
	sodium_memzero(key, sizeof(key));
	free(plain);
	free(p);
}

static void
try_snapshot(void *arg, const char *path, const char *name)
{
	try_object(arg, "snapshot", path, name);
}

static void
try_pack(void *arg, const char *path, const char *name)
{
	try_object(arg, "pack", path, name);
}

static void
try_index(void *arg, const char *path, const char *name)
{
	try_object(arg, "index", path, name);
}

static int
cmd_tryzone(int argc, char **argv)
{
	struct zonectx z = {0};
	struct cf_err err = {0};
	char path[4096];
	uint8_t *cfg;
	size_t n;

	if (argc != 5)
		return 2;
	unhex32(z.ak, argv[2], "AK");
	z.epoch = (uint32_t)strtoul(argv[3], NULL, 10);
	snprintf(path, sizeof(path), "%s/config", argv[4]);
	cfg = slurp(path, &n);
	if (cf_config_parse(cfg, n, z.id, &err) != 0)
		die(err.msg, path);
	free(cfg);
	if ((z.secrets = sodium_malloc((CF_MAX_VERSIONS + 1) * CF_KEY_BYTES)) ==
	    NULL)
		die("out of memory", NULL);
	each_file(argv[4], "keys", try_slot, &z);
	if (z.count == 0) {
		printf("ring none\n");
		return 0;
	}
	printf("ring %zu\n", z.count);
	if ((z.keys =
	            cf_keys_new_ring((const uint8_t(*)[CF_KEY_BYTES])z.secrets,
	                z.count, &err)) == NULL)
		die(err.msg, NULL);
	each_file(argv[4], "snapshots", try_snapshot, &z);
	each_file(argv[4], "data", try_pack, &z);
	each_file(argv[4], "index", try_index, &z);
	cf_keys_free(z.keys);
	sodium_free(z.secrets);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cf_err err = {0};
	int rc = 2;

	if (cf_crypto_init(&err) != 0)
		die(err.msg, NULL);
	if (argc >= 2 && !strcmp(argv[1], "show"))
		rc = cmd_show(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "append"))
		rc = cmd_append(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "genesis"))
		rc = cmd_genesis(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "seal"))
		rc = cmd_seal(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "unwrap"))
		rc = cmd_unwrap(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "tryzone"))
		rc = cmd_tryzone(argc, argv);
	if (rc == 2)
		fprintf(stderr,
		    "usage: forge show|append|genesis|seal|unwrap|tryzone "
		    "... (see forge.c)\n");
	return rc;
}
