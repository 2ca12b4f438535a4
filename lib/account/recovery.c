#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "account/recovery.h"

#define GROUPS 7
#define DATA 4 /* data characters per group: 20 bits */

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int
value_of(char c)
{
	c = (char)toupper((unsigned char)c);
	if (c == 'O')
		c = '0';
	if (c == 'I' || c == 'L')
		c = '1';
	for (int i = 0; i < 32; i++)
		if (alphabet[i] == c)
			return i;
	return -1;
}

/*
 * The check character of a group.  Its five characters w0..w4 (four data,
 * one check), read as elements of GF(32) (polynomial x^5 + x^2 + 1, a
 * primitive one, so alpha = x has order 31), satisfy
 *
 *     alpha^1 w0 + alpha^2 w1 + alpha^3 w2 + alpha^4 w3 + alpha^5 w4
 *         = alpha^g                       (g: the group's index, 0..6)
 *
 * One wrong character changes the sum by alpha^(j+1) e, never 0; two
 * characters a != b exchanged (neighbours or not, the check character
 * included) change it by (a + b)(alpha^(j+1) + alpha^(k+1)), never 0 since
 * the powers differ; a whole group written in another group's place sums
 * to that group's alpha^g.  Every such typo is caught.
 */
static int
gf_mul(int a, int b)
{
	int p = 0;

	for (int i = 0; i < 5; i++) {
		if (b & 1)
			p ^= a;
		b >>= 1;
		a <<= 1;
		if (a & 32)
			a ^= 0x25;
	}
	return p;
}

static int
gf_pow(int e) /* alpha^e */
{
	int p = 1;

	while (e-- > 0)
		p = gf_mul(p, 2);
	return p;
}

/* The sum of a group's first ${n} characters, weighted. */
static int
group_sum(const int *v, int n)
{
	int s = 0;

	for (int j = 0; j < n; j++)
		s ^= gf_mul(gf_pow(j + 1), v[j]);
	return s;
}

static int
check_of(const int v[DATA], int group)
{
	/* alpha^5 w4 = alpha^g + sum: w4 = alpha^(31-5) (alpha^g + sum) */
	return gf_mul(gf_pow(31 - (DATA + 1)),
	    gf_pow(group) ^ group_sum(v, DATA));
}

static int
group_ok(const int v[DATA + 1], int group)
{
	return group_sum(v, DATA + 1) == gf_pow(group);
}

static int
bit_get(const uint8_t *p, int i)
{
	return (p[i / 8] >> (7 - i % 8)) & 1;
}

/** cf_recovery_encode(secret, out): the written form. */
void
cf_recovery_encode(const uint8_t secret[static CF_RECOVERY_BYTES],
    char out[static CF_RECOVERY_TEXT])
{
	int bit = 0;
	char *o = out;

	for (int g = 0; g < GROUPS; g++) {
		int v[DATA];

		for (int i = 0; i < DATA; i++) {
			v[i] = 0;
			for (int k = 0; k < 5; k++, bit++)
				v[i] = v[i] << 1 |
				       (bit < 128 ? bit_get(secret, bit) : 0);
			*o++ = alphabet[v[i]];
		}
		*o++ = alphabet[check_of(v, g)];
		if (g + 1 < GROUPS)
			*o++ = '-';
	}
	*o = '\0';
}

/** cf_recovery_decode(text, secret, err): parse and check. */
int
cf_recovery_decode(const char *text, uint8_t secret[static CF_RECOVERY_BYTES],
    struct cf_err *err)
{
	int v[GROUPS * (DATA + 1)], n = 0, bit = 0;

	for (const char *p = text; *p; p++) {
		if (*p == '-' || isspace((unsigned char)*p))
			continue;
		if (n == GROUPS * (DATA + 1) || (v[n] = value_of(*p)) < 0)
			return cf_err_set(err, CF_EFORMAT,
			    "recovery key: '%c' is not a recovery key "
			    "character "
			    "or the key is too long",
			    *p);
		n++;
	}
	if (n != GROUPS * (DATA + 1))
		return cf_err_set(err, CF_EFORMAT,
		    "recovery key: %d characters where %d were expected", n,
		    GROUPS * (DATA + 1));
	memset(secret, 0, CF_RECOVERY_BYTES);
	for (int g = 0; g < GROUPS; g++) {
		const int *gv = v + g * (DATA + 1);

		if (!group_ok(gv, g))
			return cf_err_set(err, CF_EFORMAT,
			    "recovery key: group %d has a typo", g + 1);
		for (int i = 0; i < DATA; i++)
			for (int k = 4; k >= 0; k--, bit++)
				if (bit < 128 && ((gv[i] >> k) & 1))
					secret[bit / 8] |=
					    (uint8_t)(1u << (7 - bit % 8));
				else if (bit >= 128 && ((gv[i] >> k) & 1))
					return cf_err_set(err, CF_EFORMAT,
					    "recovery key: group %d has a typo",
					    g + 1);
	}
	return 0;
}

/** cf_recovery_keys(secret, sk, x_pk, x_sk): the recovery identity. */
void
cf_recovery_keys(const uint8_t secret[static CF_RECOVERY_BYTES],
    uint8_t sk[static 64], uint8_t x_pk[static 32], uint8_t x_sk[static 32])
{
	static const char ctx[] = "coffer-recovery-identity";
	uint8_t seed[32], pk[32];

	(void)crypto_generichash(seed, 32, (const uint8_t *)ctx,
	    sizeof(ctx) - 1, secret, CF_RECOVERY_BYTES);
	crypto_sign_seed_keypair(pk, sk, seed);
	if (crypto_sign_ed25519_pk_to_curve25519(x_pk, pk) != 0)
		memset(x_pk, 0, 32); /* cannot happen for a derived key */
	if (crypto_sign_ed25519_sk_to_curve25519(x_sk, sk) != 0)
		memset(x_sk, 0, 32);
	sodium_memzero(seed, sizeof(seed));
}
