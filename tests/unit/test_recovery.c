/*
 * test_recovery: the written recovery key.  Round trips; a known answer;
 * and every typo the check characters promise to catch, tried one by one
 * on many keys: each single wrong character, each exchange of two
 * different characters of a group (the check character included), each
 * exchange across the dash between groups, and two groups swapped.  Each
 * must be refused, naming the group.
 */
#include <sodium.h>

#include "account/recovery.h"
#include "check.h"
#include "crypto/crypto.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Index in the text of character ${i} (0..34) of the key, dashes skipped. */
static int
at(int i)
{
	return i + i / 5;
}

/* Refused, and the message names group ${g} (1-based). */
static int
refused_in(const char *text, int g)
{
	uint8_t secret[CF_RECOVERY_BYTES];
	struct cf_err err = {0};
	char want[32];

	if (cf_recovery_decode(text, secret, &err) == 0)
		return 0;
	snprintf(want, sizeof(want), "group %d has a typo", g);
	return err.code == CF_EFORMAT && strstr(err.msg, want) != NULL;
}

static void
typos(const uint8_t secret[CF_RECOVERY_BYTES], int *missed)
{
	char text[CF_RECOVERY_TEXT], t[CF_RECOVERY_TEXT];

	cf_recovery_encode(secret, text);
	for (int i = 0; i < 35; i++) {
		/* every other character in place of one */
		for (int c = 0; c < 32; c++) {
			memcpy(t, text, sizeof(t));
			if (alphabet[c] == t[at(i)])
				continue;
			t[at(i)] = alphabet[c];
			if (!refused_in(t, i / 5 + 1))
				(*missed)++;
		}
		/* two different characters exchanged within the group */
		for (int k = i + 1; k < (i / 5 + 1) * 5; k++) {
			memcpy(t, text, sizeof(t));
			if (t[at(i)] == t[at(k)])
				continue;
			t[at(i)] = text[at(k)];
			t[at(k)] = text[at(i)];
			if (!refused_in(t, i / 5 + 1))
				(*missed)++;
		}
	}
	/* neighbours across a dash: the first group with a typo is named */
	for (int g = 0; g < 6; g++) {
		int a = at(5 * g + 4), b = at(5 * g + 5);

		memcpy(t, text, sizeof(t));
		if (t[a] == t[b])
			continue;
		t[a] = text[b];
		t[b] = text[a];
		if (!refused_in(t, g + 1))
			(*missed)++;
	}
	/* groups written in each other's place */
	for (int g = 0; g < 6; g++) {
		memcpy(t, text, sizeof(t));
		if (memcmp(t + 6 * g, t + 6 * (g + 1), 5) == 0)
			continue;
		memcpy(t + 6 * g, text + 6 * (g + 1), 5);
		memcpy(t + 6 * (g + 1), text + 6 * g, 5);
		if (!refused_in(t, g + 1))
			(*missed)++;
	}
}

int
main(void)
{
	uint8_t secret[CF_RECOVERY_BYTES], back[CF_RECOVERY_BYTES];
	char text[CF_RECOVERY_TEXT], lower[CF_RECOVERY_TEXT];
	struct cf_err err = {0};
	int missed = 0;

	REQUIRE(cf_crypto_init(&err) == 0);

	/* A known answer (also computed by an independent script of the
	 * same rule): the written form is part of the format. */
	for (int i = 0; i < CF_RECOVERY_BYTES; i++)
		secret[i] = (uint8_t)(i * 17 + 1);
	cf_recovery_encode(secret, text);
	CHECK(strcmp(text, "0492F-6D25K-ASKQ1-H2CT4-NEYCR-VQQFB-00002") == 0);
	if (strcmp(text, "0492F-6D25K-ASKQ1-H2CT4-NEYCR-VQQFB-00002") != 0)
		fprintf(stderr, "encoded: %s\n", text);

	/* Round trips, in any case, with O for 0, I and L for 1, spaces. */
	for (int n = 0; n < 200; n++) {
		cf_crypto_random(secret, sizeof(secret));
		cf_recovery_encode(secret, text);
		CHECK(strlen(text) == CF_RECOVERY_TEXT - 1);
		CHECK(cf_recovery_decode(text, back, &err) == 0 &&
		      memcmp(secret, back, sizeof(back)) == 0);
		for (size_t i = 0; i <= strlen(text); i++) {
			char c = text[i];

			lower[i] = c == '0'   ? 'o'
			           : c == '1' ? (i % 2 ? 'I' : 'l')
			           : c == '-' ? ' '
			                      : (char)(c >= 'A' && c <= 'Z'
			                                   ? c - 'A' + 'a'
			                                   : c);
		}
		CHECK(cf_recovery_decode(lower, back, &err) == 0 &&
		      memcmp(secret, back, sizeof(back)) == 0);
		typos(secret, &missed);
	}
	CHECK(missed == 0);
	if (missed != 0)
		fprintf(stderr, "%d typos not caught\n", missed);

	/* Too short, too long, a character outside the alphabet. */
	CHECK(cf_recovery_decode("0492F-6D25K", back, &err) != 0 &&
	      strstr(err.msg, "characters where") != NULL);
	CHECK(cf_recovery_decode("0492F-6D25K-ASKQ1-H2CT4-NEYCR-VQQFB-00002X",
	          back, &err) != 0);
	CHECK(cf_recovery_decode("0492F-6D25K-ASKQ1-H2CT4-NEYCR-VQQFB-0000U",
	          back, &err) != 0 &&
	      strstr(err.msg, "'U'") != NULL);
	return check_done("unit-recovery");
}
