/*
 * test_forget.c: cf_forget_decide (lib/engine/forget.h) on synthetic
 * snapshot histories with chosen times (the CLI can only make snapshots
 * "now"): keep-last, the hourly/daily/weekly/monthly/yearly buckets
 * (newest of each of the N most recent periods that have snapshots, gaps
 * skipped, ISO weeks across a year boundary), keep-within (relative to the
 * group's newest snapshot, not to now; long durations), keep-tag, --host,
 * grouping by host and paths, the reasons given, and the pure-function
 * contract (out[i] describes v[i], nothing else touched).
 * Buckets are in local time: the test runs with TZ=UTC0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/forget.h"

#include "../unit/check.h"

#define MAXS 512

struct hist {
	struct cf_snapshot s[MAXS];
	struct cf_snapshot *v[MAXS];
	struct cf_forget_decision d[MAXS];
	size_t n;
};

static char *paths_a[] = {"/home/a"};
static char *paths_ab[] = {"/home/a", "/home/b"};
static char *paths_b[] = {"/home/b"};

/* Seconds since the epoch of a UTC calendar time. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static void
h_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Append a snapshot (callers add them oldest first). */
static struct cf_snapshot *
h_add(struct hist *h, int64_t t, const char *host, char **paths, size_t npaths)
{
	struct cf_snapshot *s;

	REQUIRE(h->n < MAXS);
	s = &h->s[h->n];
	s->time_ns = t * 1000000000 + (int64_t)(h->n % 1000) * 1000;
	s->host = (char *)(uintptr_t)host;
	s->user = (char *)(uintptr_t) "u";
	s->version = (char *)(uintptr_t) "t";
	s->paths = paths;
	s->npaths = npaths;
	snprintf(s->name, sizeof(s->name), "%064zx", h->n);
	h->v[h->n] = s;
	h->n++;
	return s;
}

static void
h_decide(struct hist *h, const struct cf_forget_policy *p)
{
	memset(h->d, 0x5a, sizeof(h->d));
	cf_forget_decide(h->v, h->n, p, h->d);
	for (size_t i = 0; i < h->n; i++) {
		CHECK(h->d[i].s == h->v[i]);
		CHECK(h->d[i].keep == 0 || h->d[i].keep == 1);
		CHECK(memchr(h->d[i].reason, '\0', sizeof(h->d[i].reason)));
		/* a kept snapshot says why; a forgotten one has no reason */
		CHECK(h->d[i].keep == (h->d[i].reason[0] != '\0'));
	}
}

/* The kept set as a string of '1'/'0', oldest first. */
static const char *
kept(const struct hist *h)
{
	static char buf[MAXS + 1];

	for (size_t i = 0; i < h->n; i++)
		buf[i] = h->d[i].keep ? '1' : '0';
	buf[h->n] = '\0';
	return buf;
}

static int
kept_is(const struct hist *h, const char *want, int line)
{
	if (strcmp(kept(h), want) == 0)
		return 1;
	fprintf(stderr, "line %d: kept %s\n          want %s\n", line, kept(h),
	    want);
	for (size_t i = 0; i < h->n; i++)
		fprintf(stderr, "  %3zu %lld %s/%zu %s keep=%d (%s)\n", i,
		    (long long)(h->v[i]->time_ns / 1000000000), h->v[i]->host,
		    h->v[i]->npaths, h->v[i]->npaths ? h->v[i]->paths[0] : "",
		    h->d[i].keep, h->d[i].reason);
	return 0;
}
#define KEPT(h, want) CHECK(kept_is((h), (want), __LINE__))

/* Does the reason list of decision i contain the word w (comma
 * separated)? */
static int
reason_has(const struct hist *h, size_t i, const char *w)
{
	char tmp[sizeof(h->d[i].reason)], *save = NULL;

	memcpy(tmp, h->d[i].reason, sizeof(tmp));
	for (char *t = strtok_r(tmp, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (strcmp(t, w) == 0)
			return 1;
	}
	return 0;
}

static size_t
nkept(const struct hist *h)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n; i++)
		k += h->d[i].keep != 0;
	return k;
}

static void
test_any(void)
{
	struct cf_forget_policy p = {0};
	const char *tags[] = {"x"};

	CHECK(!cf_forget_any(&p));
	p.host = "a"; /* a host filter alone keeps nothing */
	CHECK(!cf_forget_any(&p));
	p = (struct cf_forget_policy){0};
	p.last = 1;
	CHECK(cf_forget_any(&p));
	p = (struct cf_forget_policy){0};
	p.within_s = 1;
	CHECK(cf_forget_any(&p));
	p = (struct cf_forget_policy){0};
	p.keep_tags = tags;
	p.nkeep_tags = 1;
	CHECK(cf_forget_any(&p));
	p = (struct cf_forget_policy){0};
	p.yearly = 1;
	CHECK(cf_forget_any(&p));
}

static void
test_empty_and_last(struct hist *h)
{
	struct cf_forget_policy p = {0};

	h_reset(h);
	p.last = 3;
	h_decide(h, &p); /* no snapshot: nothing to do, no crash */
	CHECK(h->n == 0);

	for (int i = 0; i < 10; i++)
		h_add(h, utc(2026, 3, 1, 10, i, 0), "a", paths_a, 1);
	h_decide(h, &p);
	KEPT(h, "0000000111");
	CHECK(strcmp(h->d[9].reason, "last") == 0);
	CHECK(strcmp(h->d[7].reason, "last") == 0);

	p.last = 10;
	h_decide(h, &p);
	KEPT(h, "1111111111");
	p.last = 1000;
	h_decide(h, &p);
	KEPT(h, "1111111111");
	p.last = 1;
	h_decide(h, &p);
	KEPT(h, "0000000001");
}

static void
test_hourly(struct hist *h)
{
	struct cf_forget_policy p = {0};

	h_reset(h);
	/* 09:10 09:50 | 10:05 10:59 | (no 11:xx) | 12:00 12:30 | 13:01 */
	h_add(h, utc(2026, 3, 1, 9, 10, 0), "a", paths_a, 1);   /* 0 */
	h_add(h, utc(2026, 3, 1, 9, 50, 0), "a", paths_a, 1);   /* 1 */
	h_add(h, utc(2026, 3, 1, 10, 5, 0), "a", paths_a, 1);   /* 2 */
	h_add(h, utc(2026, 3, 1, 10, 59, 59), "a", paths_a, 1); /* 3 */
	h_add(h, utc(2026, 3, 1, 12, 0, 0), "a", paths_a, 1);   /* 4 */
	h_add(h, utc(2026, 3, 1, 12, 30, 0), "a", paths_a, 1);  /* 5 */
	h_add(h, utc(2026, 3, 1, 13, 1, 0), "a", paths_a, 1);   /* 6 */
	p.hourly = 3;
	h_decide(h, &p);
	/* newest of 13h, 12h and 10h (11h has none: it does not count) */
	KEPT(h, "0001011");
	CHECK(strcmp(h->d[6].reason, "hourly") == 0);
	p.hourly = 100;
	h_decide(h, &p);
	KEPT(h, "0101011");
	/* the same hour on another day is another hour */
	h_add(h, utc(2026, 3, 2, 13, 0, 0), "a", paths_a, 1); /* 7 */
	p.hourly = 2;
	h_decide(h, &p);
	KEPT(h, "00000011");
}

static void
test_daily(struct hist *h)
{
	struct cf_forget_policy p = {0};

	h_reset(h);
	/* Mar 1 (x3), Mar 2 (x2), Mar 5, Mar 6 00:00:00, Mar 6 23:59:59 */
	h_add(h, utc(2026, 3, 1, 1, 0, 0), "a", paths_a, 1);    /* 0 */
	h_add(h, utc(2026, 3, 1, 12, 0, 0), "a", paths_a, 1);   /* 1 */
	h_add(h, utc(2026, 3, 1, 23, 59, 59), "a", paths_a, 1); /* 2 */
	h_add(h, utc(2026, 3, 2, 0, 0, 0), "a", paths_a, 1);    /* 3 */
	h_add(h, utc(2026, 3, 2, 8, 0, 0), "a", paths_a, 1);    /* 4 */
	h_add(h, utc(2026, 3, 5, 8, 0, 0), "a", paths_a, 1);    /* 5 */
	h_add(h, utc(2026, 3, 6, 0, 0, 0), "a", paths_a, 1);    /* 6 */
	h_add(h, utc(2026, 3, 6, 23, 59, 59), "a", paths_a, 1); /* 7 */
	p.daily = 3;
	h_decide(h, &p);
	KEPT(h, "00001101");
	p.daily = 4;
	h_decide(h, &p);
	KEPT(h, "00101101");
	p.daily = 0;
	p.last = 2; /* last and daily overlap: reasons are listed */
	p.daily = 2;
	h_decide(h, &p);
	KEPT(h, "00000111");
	CHECK(reason_has(h, 7, "last") && reason_has(h, 7, "daily"));
	CHECK(reason_has(h, 6, "last") && !reason_has(h, 6, "daily"));
	CHECK(reason_has(h, 5, "daily") && !reason_has(h, 5, "last"));
}

static void
test_weekly(struct hist *h)
{
	struct cf_forget_policy p = {0};

	h_reset(h);
	/* ISO weeks: 2026-12-28 is Monday of 2026-W53; 2027-01-03 (Sunday)
	 * still belongs to it; 2027-01-04 (Monday) starts 2027-W01. */
	h_add(h, utc(2026, 12, 20, 12, 0, 0), "a", paths_a, 1); /* 0 W51 Sun */
	h_add(h, utc(2026, 12, 21, 12, 0, 0), "a", paths_a, 1); /* 1 W52 Mon */
	h_add(h, utc(2026, 12, 27, 23, 0, 0), "a", paths_a, 1); /* 2 W52 Sun */
	h_add(h, utc(2026, 12, 28, 0, 0, 0), "a", paths_a, 1);  /* 3 W53 Mon */
	h_add(h, utc(2026, 12, 31, 12, 0, 0), "a", paths_a, 1); /* 4 W53 */
	h_add(h, utc(2027, 1, 1, 12, 0, 0), "a", paths_a, 1);   /* 5 W53 */
	h_add(h, utc(2027, 1, 3, 23, 59, 0), "a", paths_a, 1);  /* 6 W53 Sun */
	h_add(h, utc(2027, 1, 4, 0, 0, 0), "a", paths_a, 1);    /* 7 W01 Mon */
	p.weekly = 2;
	h_decide(h, &p);
	KEPT(h, "00000011");
	p.weekly = 4;
	h_decide(h, &p);
	KEPT(h, "10100011");
	CHECK(strcmp(h->d[0].reason, "weekly") == 0);
	/* the year boundary splits neither the week nor a yearly count
	 * from it: yearly goes by calendar year */
	p.weekly = 0;
	p.yearly = 5;
	h_decide(h, &p);
	KEPT(h, "00001001");
}

static void
test_monthly_yearly(struct hist *h)
{
	struct cf_forget_policy p = {0};

	h_reset(h);
	/* the 1st and the 15th of every month from 2022-01 to 2026-06 */
	for (int y = 2022; y <= 2026; y++)
		for (int m = 1; m <= 12 && !(y == 2026 && m > 6); m++) {
			h_add(h, utc(y, m, 1, 0, 0, 0), "a", paths_a, 1);
			h_add(h, utc(y, m, 15, 12, 0, 0), "a", paths_a, 1);
		}
	REQUIRE(h->n == 108);
	p.monthly = 12;
	h_decide(h, &p);
	CHECK(nkept(h) == 12);
	/* the 15ths of 2025-07 .. 2026-06 */
	for (size_t i = 0; i < h->n; i++)
		CHECK(h->d[i].keep == (i % 2 == 1 && i >= 108 - 24));
	p.monthly = 0;
	p.yearly = 3;
	h_decide(h, &p);
	/* newest of 2026 (Jun 15), 2025 (Dec 15), 2024 (Dec 15) */
	CHECK(nkept(h) == 3);
	CHECK(h->d[107].keep && h->d[95].keep && h->d[71].keep);
	CHECK(strcmp(h->d[71].reason, "yearly") == 0);
	p.yearly = 10; /* more years than there are: all five */
	h_decide(h, &p);
	CHECK(nkept(h) == 5);
	CHECK(h->d[23].keep && h->d[47].keep && h->d[71].keep);

	/* the usual policy: 7 daily, 5 weekly, 12 monthly, 2 yearly */
	p = (struct cf_forget_policy){0};
	p.daily = 7;
	p.weekly = 5;
	p.monthly = 12;
	p.yearly = 2;
	h_decide(h, &p);
	CHECK(h->d[107].keep);
	CHECK(reason_has(h, 107, "daily") && reason_has(h, 107, "weekly") &&
	      reason_has(h, 107, "monthly") && reason_has(h, 107, "yearly"));
	/* daily: 7 newest days = 7 newest snapshots (2 per month): i.e.
	 * back to 2026-03-15; weekly: 5 of them (each in its own week);
	 * monthly: the 15ths of 12 months; yearly: 2026-06-15, 2025-12-15 */
	for (size_t i = 0; i < h->n; i++) {
		int want = i >= 101 || (i % 2 == 1 && i >= 84);

		CHECK(h->d[i].keep == want);
	}
	CHECK(reason_has(h, 101, "daily") && reason_has(h, 101, "monthly") &&
	      !reason_has(h, 101, "yearly") && !reason_has(h, 101, "weekly"));
	CHECK(reason_has(h, 95, "monthly") && reason_has(h, 95, "yearly") &&
	      !reason_has(h, 95, "daily"));
	CHECK(strcmp(h->d[93].reason, "monthly") == 0);
	CHECK(!h->d[100].keep && !h->d[94].keep);
}

static void
test_within(struct hist *h)
{
	struct cf_forget_policy p = {0};
	int64_t t0 = utc(2020, 1, 1, 0, 0, 0);

	h_reset(h);
	/* a group whose newest snapshot is years old: within is relative to
	 * the newest snapshot of the group, not to now */
	h_add(h, t0 - 30 * 86400, "a", paths_a, 1);       /* 0 */
	h_add(h, t0 - 7 * 86400 - 3600, "a", paths_a, 1); /* 1 */
	h_add(h, t0 - 7 * 86400 + 3600, "a", paths_a, 1); /* 2 */
	h_add(h, t0 - 86400, "a", paths_a, 1);            /* 3 */
	h_add(h, t0, "a", paths_a, 1);                    /* 4 */
	p.within_s = 7 * 86400;
	h_decide(h, &p);
	KEPT(h, "00111");
	CHECK(strcmp(h->d[2].reason, "within") == 0);
	p.within_s = 3600;
	h_decide(h, &p);
	KEPT(h, "00001");
	p.within_s = 31 * 86400;
	h_decide(h, &p);
	KEPT(h, "11111");
	/* long durations: 1 year, 100 years, 300 years, the most the CLI
	 * accepts in one term (100000y): nothing may overflow into a
	 * duration that keeps nothing */
	h_reset(h);
	h_add(h, utc(1971, 1, 1, 0, 0, 0), "a", paths_a, 1);
	h_add(h, utc(2000, 1, 1, 0, 0, 0), "a", paths_a, 1);
	h_add(h, t0 - 364 * 86400, "a", paths_a, 1);
	h_add(h, t0, "a", paths_a, 1);
	p.within_s = 365 * 86400;
	h_decide(h, &p);
	KEPT(h, "0011");
	p.within_s = (int64_t)100 * 365 * 86400;
	h_decide(h, &p);
	KEPT(h, "1111");
	p.within_s = (int64_t)300 * 365 * 86400;
	h_decide(h, &p);
	KEPT(h, "1111");
	p.within_s = (int64_t)100000 * 365 * 86400;
	h_decide(h, &p);
	KEPT(h, "1111");
}

static void
test_tags(struct hist *h)
{
	struct cf_forget_policy p = {0};
	char *t_keep[] = {"keep"}, *t_two[] = {"other", "release"};
	const char *want[] = {"keep", "release"};
	struct cf_snapshot *s;

	h_reset(h);
	for (int i = 0; i < 6; i++) {
		s = h_add(h, utc(2026, 3, 1 + i, 12, 0, 0), "a", paths_a, 1);
		if (i == 1) {
			s->tags = t_keep;
			s->ntags = 1;
		}
		if (i == 3) {
			s->tags = t_two;
			s->ntags = 2;
		}
	}
	p.keep_tags = want;
	p.nkeep_tags = 1;
	h_decide(h, &p);
	KEPT(h, "010000");
	CHECK(strcmp(h->d[1].reason, "tag") == 0);
	p.nkeep_tags = 2;
	h_decide(h, &p);
	KEPT(h, "010100");
	p.last = 1;
	h_decide(h, &p);
	KEPT(h, "010101");
	/* a tag is matched whole, case and all */
	const char *near[] = {"kee", "Keep", "release "};
	p.last = 0;
	p.keep_tags = near;
	p.nkeep_tags = 3;
	h_decide(h, &p);
	KEPT(h, "000000");
}

static void
test_groups_and_host(struct hist *h)
{
	struct cf_forget_policy p = {0};

	h_reset(h);
	/* interleaved: host a /home/a; host a /home/a+/home/b; host b
	 * /home/a; host a /home/b */
	for (int i = 0; i < 4; i++) {
		h_add(h, utc(2026, 5, 1 + i, 10, 0, 0), "a", paths_a, 1);
		h_add(h, utc(2026, 5, 1 + i, 11, 0, 0), "a", paths_ab, 2);
		h_add(h, utc(2026, 5, 1 + i, 12, 0, 0), "b", paths_a, 1);
		h_add(h, utc(2026, 5, 1 + i, 13, 0, 0), "a", paths_b, 1);
	}
	p.last = 1;
	h_decide(h, &p);
	/* the newest of each of the four groups */
	KEPT(h, "0000000000001111");
	p.last = 2;
	h_decide(h, &p);
	KEPT(h, "0000000011111111");
	/* daily counts days per group */
	p.last = 0;
	p.daily = 3;
	h_decide(h, &p);
	KEPT(h, "0000111111111111");

	/* --host a: host b's snapshots are left alone, whatever the rules */
	p.daily = 0;
	p.last = 1;
	p.host = "a";
	h_decide(h, &p);
	KEPT(h, "0010001000101111");
	CHECK(strcmp(h->d[2].reason, "other host") == 0);
	CHECK(strcmp(h->d[14].reason, "other host") == 0);
	CHECK(strcmp(h->d[12].reason, "last") == 0);
	/* a host nobody has: everything is someone else's */
	p.host = "c";
	h_decide(h, &p);
	CHECK(nkept(h) == h->n);
	/* host names are matched whole */
	p.host = "";
	h_decide(h, &p);
	CHECK(nkept(h) == h->n);

	/* paths compare as lists: {/home/a,/home/b} is its own group even
	 * next to {/home/a} and {/home/b} */
	h_reset(h);
	h_add(h, utc(2026, 5, 1, 10, 0, 0), "a", paths_ab, 2);
	h_add(h, utc(2026, 5, 2, 10, 0, 0), "a", paths_a, 1);
	h_add(h, utc(2026, 5, 3, 10, 0, 0), "a", paths_b, 1);
	h_add(h, utc(2026, 5, 4, 10, 0, 0), "a", paths_ab + 1, 1); /* = b */
	p = (struct cf_forget_policy){0};
	p.last = 1;
	h_decide(h, &p);
	KEPT(h, "1101");
}

/* A long random history: invariants that must hold whatever the rules. */
static void
test_random(struct hist *h)
{
	uint64_t seed = 42;
	static const char *hosts[] = {"a", "b"};
	char **pathsets[] = {paths_a, paths_ab};
	size_t npathsets[] = {1, 2};

	for (int round = 0; round < 200; round++) {
		struct cf_forget_policy p = {0};
		int64_t t = utc(2020, 1, 1, 0, 0, 0);
		size_t n = 1 + test_rand(&seed) % 300;
		size_t groups_seen = 0;
		char seen[2][2] = {{0}};

		h_reset(h);
		for (size_t i = 0; i < n; i++) {
			int hi = (int)(test_rand(&seed) % 2),
			    pi = (int)(test_rand(&seed) % 2);

			t += (int64_t)(test_rand(&seed) % (40 * 86400));
			h_add(h, t, hosts[hi], pathsets[pi], npathsets[pi]);
			if (!seen[hi][pi]++)
				groups_seen++;
		}
		p.last = (int)(test_rand(&seed) % 4);
		p.hourly = (int)(test_rand(&seed) % 3);
		p.daily = (int)(test_rand(&seed) % 5);
		p.weekly = (int)(test_rand(&seed) % 5);
		p.monthly = (int)(test_rand(&seed) % 13);
		p.yearly = (int)(test_rand(&seed) % 3);
		if (!cf_forget_any(&p))
			p.last = 1;
		h_decide(h, &p);
		/* the newest snapshot of every group is kept (every count rule
		 * keeps it), and at most sum(rules) per group are kept */
		for (size_t g = 0; g < 4; g++) {
			size_t newest = SIZE_MAX, k = 0;

			for (size_t i = 0; i < n; i++)
				if (strcmp(h->v[i]->host, hosts[g / 2]) == 0 &&
				    h->v[i]->npaths == npathsets[g % 2]) {
					newest = i;
					k += h->d[i].keep != 0;
				}
			if (newest == SIZE_MAX)
				continue;
			CHECK(h->d[newest].keep);
			CHECK(k <= (size_t)(p.last + p.hourly + p.daily +
			                    p.weekly + p.monthly + p.yearly));
			if (p.last > 0)
				CHECK(reason_has(h, newest, "last"));
		}
		CHECK(nkept(h) >= groups_seen);
	}
}

int
main(void)
{
	static struct hist h;

	setenv("TZ", "UTC0", 1);
	tzset();
	test_any();
	test_empty_and_last(&h);
	test_hourly(&h);
	test_daily(&h);
	test_weekly(&h);
	test_monthly_yearly(&h);
	test_within(&h);
	test_tags(&h);
	test_groups_and_host(&h);
	test_random(&h);
	return check_done("test_forget");
}
