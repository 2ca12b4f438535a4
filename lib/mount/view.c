/*
 * view.c: the mount's virtual folders: snapshot names, tags, hosts, and
 * what a path names.  Pure: no I/O.
 *
 * Tags and hosts come from snapshot records, written by whoever holds the
 * key: they are checked before they become folder names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mount/mount_internal.h"

#define NAME_MAX_BYTES 255

struct named {
	const char *name;
	size_t i;
};

static int
named_cmp(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
	    ((const struct named *)b)->name);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/** cf_mview_time_name(out, n, sec): local time as a folder name. */
void
cf_mview_time_name(char *out, size_t n, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(out, n, "%lld", (long long)sec);
}

/* Name snapshot ${i} at ${level}: 0 time, 1 time-8hex, 2 time-64hex. */
static char *
snap_name(const struct cf_snapshot *s, int level)
{
	char t[64], out[160];
	int64_t sec = s->time_ns / 1000000000;

	cf_mview_time_name(t, sizeof(t), sec);
	if (level == 0)
		snprintf(out, sizeof(out), "%s", t);
	else
		snprintf(out, sizeof(out), "%s-%.*s", t, level == 1 ? 8 : 64,
		    s->name);
	return strdup(out);
}

/* Sort names; rename the snapshots whose name is shared at the next
 * level.  Returns how many were renamed, or -1 on ENOMEM. */
static int
sort_and_split(struct cf_mview *v, struct named *tmp, int *level)
{
	int renamed = 0;

	for (size_t i = 0; i < v->n; i++)
		tmp[i] = (struct named){v->names[i], i};
	qsort(tmp, v->n, sizeof(*tmp), named_cmp);
	for (size_t i = 0; i < v->n; i++) {
		int shared =
		    (i > 0 && !strcmp(tmp[i].name, tmp[i - 1].name)) ||
		    (i + 1 < v->n && !strcmp(tmp[i].name, tmp[i + 1].name));
		size_t k = tmp[i].i;

		if (!shared || level[k] == 2)
			continue;
		level[k]++;
		renamed++;
	}
	for (size_t k = 0; renamed > 0 && k < v->n; k++) {
		char *nn = snap_name(v->s[k], level[k]);

		if (nn == NULL)
			return -1;
		free(v->names[k]);
		v->names[k] = nn;
	}
	for (size_t i = 0; i < v->n; i++)
		v->byname[i] = tmp[i].i;
	return renamed;
}

static int
make_names(struct cf_mview *v, struct cf_err *err)
{
	struct named *tmp = cf_alloc_array(v->n + 1, sizeof(*tmp));
	int *level = calloc(v->n + 1, sizeof(int));
	int rc = 0;

	v->names = calloc(v->n + 1, sizeof(char *));
	v->byname = cf_alloc_array(v->n + 1, sizeof(size_t));
	if (tmp == NULL || level == NULL || v->names == NULL ||
	    v->byname == NULL)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < v->n; i++)
		if ((v->names[i] = snap_name(v->s[i], 0)) == NULL)
			rc = -1;
	/* Level 2 names are unique: at most two rounds rename anything. */
	while (rc == 0 && (rc = sort_and_split(v, tmp, level)) > 0)
		rc = 0;
	free(tmp);
	free(level);
	return rc < 0 ? cf_err_set(err, CF_ENOMEM, "out of memory") : 0;
}

/* ${raw} as a folder name in *out ('/' shown as '_'): 1 done, 0 unusable
 * (left out), -1 ENOMEM. */
static int
group_name(const char *raw, char **out)
{
	size_t len = strlen(raw);

	*out = NULL;
	if (len == 0 || len > NAME_MAX_BYTES || !strcmp(raw, ".") ||
	    !strcmp(raw, ".."))
		return 0;
	if ((*out = strdup(raw)) == NULL)
		return -1;
	for (char *c = *out; *c != '\0'; c++)
		if (*c == '/')
			*c = '_';
	return 1;
}

/* Append the usable name of ${raw} to ${v}/${n}. */
static int
push_group(char ***v, size_t *n, size_t *cap, const char *raw)
{
	char *name;
	int rc = group_name(raw, &name);

	if (rc <= 0)
		return rc;
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		char **nv = cf_realloc_array(*v, nc, sizeof(char *));

		if (nv == NULL) {
			free(name);
			return -1;
		}
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = name;
	return 0;
}

static void
sort_unique(char **v, size_t *n)
{
	size_t k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(char *), str_cmp);
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(v[i], v[k]) == 0)
			free(v[i]);
		else
			v[++k] = v[i];
	}
	*n = k + 1;
}

static int
collect_groups(struct cf_mview *v)
{
	size_t tcap = 0, hcap = 0;

	for (size_t i = 0; i < v->n; i++) {
		if (push_group(&v->hosts, &v->nhosts, &hcap, v->s[i]->host))
			return -1;
		for (size_t j = 0; j < v->s[i]->ntags; j++)
			if (push_group(&v->tags, &v->ntags, &tcap,
			        v->s[i]->tags[j]))
				return -1;
	}
	sort_unique(v->hosts, &v->nhosts);
	sort_unique(v->tags, &v->ntags);
	return 0;
}

/* Index of name ${s} (${len} bytes) in sorted ${v}, or SIZE_MAX. */
static size_t
find_sorted(char *const *v, const size_t *order, size_t n, const char *s,
    size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *name = v[order ? order[mid] : mid];
		int c = strncmp(name, s, len);

		if (c == 0 && name[len] != '\0')
			c = 1;
		if (c == 0)
			return order ? order[mid] : mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static size_t
group_of(char *const *v, size_t n, const char *raw)
{
	char *name;
	size_t i;

	if (group_name(raw, &name) <= 0)
		return SIZE_MAX;
	i = find_sorted(v, NULL, n, name, strlen(name));
	free(name);
	return i;
}

static int
index_groups(struct cf_mview *v)
{
	v->host_of = cf_alloc_array(v->n + 1, sizeof(size_t));
	v->tags_of = calloc(v->n + 1, sizeof(size_t *));
	v->ntags_of = calloc(v->n + 1, sizeof(size_t));
	if (v->host_of == NULL || v->tags_of == NULL || v->ntags_of == NULL)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		const struct cf_snapshot *s = v->s[i];

		v->host_of[i] = group_of(v->hosts, v->nhosts, s->host);
		if ((v->tags_of[i] = cf_alloc_array(s->ntags + 1,
		         sizeof(size_t))) == NULL)
			return -1;
		for (size_t j = 0; j < s->ntags; j++) {
			size_t g = group_of(v->tags, v->ntags, s->tags[j]);

			if (g != SIZE_MAX)
				v->tags_of[i][v->ntags_of[i]++] = g;
		}
	}
	return 0;
}

/** cf_mview_init(v, s, n, err): names for the snapshots. */
int
cf_mview_init(struct cf_mview *v, struct cf_snapshot **s, size_t n,
    struct cf_err *err)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	v->n = n;
	if (make_names(v, err) != 0)
		goto err0;
	if (collect_groups(v) != 0 || index_groups(v) != 0) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		goto err0;
	}
	return 0;
err0:
	cf_mview_release(v);
	return -1;
}

static void
free_strs(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/** cf_mview_release(v): free everything. */
void
cf_mview_release(struct cf_mview *v)
{
	free_strs(v->names, v->names ? v->n : 0);
	free_strs(v->tags, v->ntags);
	free_strs(v->hosts, v->nhosts);
	for (size_t i = 0; v->tags_of != NULL && i < v->n; i++)
		free(v->tags_of[i]);
	free(v->tags_of);
	free(v->ntags_of);
	free(v->host_of);
	free(v->byname);
	cf_snapshots_free(v->s, v->n);
	memset(v, 0, sizeof(*v));
}

/** cf_mview_member(v, snap, group, gi): is ${snap} under ${gi}? */
int
cf_mview_member(const struct cf_mview *v, size_t snap, enum cf_vgroup group,
    size_t gi)
{
	if (group == CF_G_ALL)
		return 1;
	if (group == CF_G_HOST)
		return v->host_of[snap] == gi;
	for (size_t j = 0; j < v->ntags_of[snap]; j++)
		if (v->tags_of[snap][j] == gi)
			return 1;
	return 0;
}

/* The next component of *p: its bytes and length; *p moves past it. */
static size_t
component(const char **p, const char **s)
{
	size_t len;

	while (**p == '/')
		(*p)++;
	*s = *p;
	len = strcspn(*p, "/");
	*p += len;
	while (**p == '/')
		(*p)++;
	return len;
}

static int
is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* The rest of a path under a list of snapshots. */
static int
parse_snaps(const struct cf_mview *v, const char *p, struct cf_vpath *out)
{
	const char *s;
	size_t len;

	if (*p == '\0') {
		out->kind = CF_V_SNAPS;
		return 0;
	}
	len = component(&p, &s);
	out->snap = find_sorted(v->names, v->byname, v->n, s, len);
	if (out->snap == SIZE_MAX ||
	    !cf_mview_member(v, out->snap, out->group, out->gi))
		return -ENOENT;
	out->kind = CF_V_SNAP;
	out->rest = p;
	return 0;
}

static int
parse_groups(const struct cf_mview *v, const char *p, struct cf_vpath *out)
{
	char *const *names = out->group == CF_G_TAG ? v->tags : v->hosts;
	size_t n = out->group == CF_G_TAG ? v->ntags : v->nhosts;
	const char *s;
	size_t len;

	if (*p == '\0') {
		out->kind = CF_V_GROUPS;
		return 0;
	}
	len = component(&p, &s);
	if ((out->gi = find_sorted(names, NULL, n, s, len)) == SIZE_MAX)
		return -ENOENT;
	return parse_snaps(v, p, out);
}

/** cf_mview_parse(v, path, out): what ${path} names. */
int
cf_mview_parse(const struct cf_mview *v, const char *path, struct cf_vpath *out)
{
	const char *p = path, *s;
	size_t len;

	memset(out, 0, sizeof(*out));
	out->rest = "";
	len = component(&p, &s);
	if (len == 0) {
		out->kind = CF_V_ROOT;
		return 0;
	}
	if (is(s, len, "snapshots"))
		return parse_snaps(v, p, out);
	if (is(s, len, "tags") || is(s, len, "hosts")) {
		out->group = is(s, len, "tags") ? CF_G_TAG : CF_G_HOST;
		return parse_groups(v, p, out);
	}
	if (!is(s, len, "latest") || v->n == 0)
		return -ENOENT;
	if (*p != '\0')
		return -ENOTDIR;
	out->kind = CF_V_LATEST;
	out->snap = v->n - 1;
	return 0;
}
