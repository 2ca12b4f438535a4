#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"

#define SNAP_VERSION 1

static void
add_strs(struct cf_buf *b, char *const *v, size_t n)
{
	cf_buf_add_uvar(b, n);
	for (size_t i = 0; i < n; i++)
		cf_buf_add_str(b, v[i]);
}

/** cf_snapshot_encode(s, out): append the encoding of ${s}. */
void
cf_snapshot_encode(const struct cf_snapshot *s, struct cf_buf *out)
{
	cf_buf_add_u8(out, 'C');
	cf_buf_add_u8(out, 'S');
	cf_buf_add_u8(out, SNAP_VERSION);
	cf_buf_add_svar(out, s->time_ns);
	cf_buf_add_str(out, s->host ? s->host : "");
	cf_buf_add_str(out, s->user ? s->user : "");
	add_strs(out, s->paths, s->npaths);
	add_strs(out, s->tags, s->ntags);
	cf_buf_add_u8(out, (uint8_t)(s->has_parent != 0));
	if (s->has_parent)
		cf_buf_add(out, s->parent, 32);
	cf_buf_add(out, s->tree, 32);
	cf_buf_add_uvar(out, s->files);
	cf_buf_add_uvar(out, s->dirs);
	cf_buf_add_uvar(out, s->bytes);
	cf_buf_add_uvar(out, s->new_bytes);
	cf_buf_add_uvar(out, s->unreadable);
	cf_buf_add_str(out, s->version ? s->version : "");
}

static int
rd_str(struct cf_rd *r, char **out)
{
	const uint8_t *p;
	size_t n;

	if (cf_rd_bytes(r, &p, &n, CF_SNAP_STR_MAX) ||
	    memchr(p, '\0', n) != NULL)
		return -1;
	if ((*out = malloc(n + 1)) == NULL)
		return -1;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

static int
rd_strs(struct cf_rd *r, char ***v, size_t *n, size_t max)
{
	uint64_t cnt;

	if (cf_rd_uvar(r, &cnt) || cnt > max || cnt > cf_rd_left(r))
		return -1;
	if ((*v = calloc((size_t)cnt + 1, sizeof(char *))) == NULL)
		return -1;
	*n = 0;
	for (; *n < cnt; (*n)++)
		if (rd_str(r, &(*v)[*n]))
			return -1;
	return 0;
}

static int
decode_body(struct cf_rd *r, struct cf_snapshot *s)
{
	uint8_t m0, m1, v, hp;

	if (cf_rd_u8(r, &m0) || cf_rd_u8(r, &m1) || cf_rd_u8(r, &v) ||
	    m0 != 'C' || m1 != 'S' || v != SNAP_VERSION ||
	    cf_rd_svar(r, &s->time_ns) || rd_str(r, &s->host) ||
	    rd_str(r, &s->user) ||
	    rd_strs(r, &s->paths, &s->npaths, CF_SNAP_MAX_PATHS) ||
	    rd_strs(r, &s->tags, &s->ntags, CF_SNAP_MAX_TAGS) ||
	    cf_rd_u8(r, &hp) || hp > 1)
		return -1;
	s->has_parent = hp;
	if ((hp && cf_rd_fixed(r, s->parent, 32)) ||
	    cf_rd_fixed(r, s->tree, 32) || cf_rd_uvar(r, &s->files) ||
	    cf_rd_uvar(r, &s->dirs) || cf_rd_uvar(r, &s->bytes) ||
	    cf_rd_uvar(r, &s->new_bytes) || cf_rd_uvar(r, &s->unreadable) ||
	    rd_str(r, &s->version) || cf_rd_left(r) != 0)
		return -1;
	return 0;
}

/** cf_snapshot_decode(p, n, err): parse a snapshot record. */
struct cf_snapshot *
cf_snapshot_decode(const uint8_t *p, size_t n, struct cf_err *err)
{
	struct cf_snapshot *s;
	struct cf_rd r;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	cf_rd_init(&r, p, n);
	if (decode_body(&r, s)) {
		cf_snapshot_free(s);
		cf_err_set(err, CF_EFORMAT, "snapshot record invalid");
		return NULL;
	}
	return s;
}

static void
free_strs(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/** cf_snapshot_free(s): free a snapshot. */
void
cf_snapshot_free(struct cf_snapshot *s)
{
	if (s == NULL)
		return;
	free(s->host);
	free(s->user);
	free(s->version);
	free_strs(s->paths, s->npaths);
	free_strs(s->tags, s->ntags);
	free(s);
}
