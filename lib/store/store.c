#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static const char *const kind_names[CF_KIND_COUNT] = {
    "config", "keys", "data", "index", "snapshots", "meta"};

/** cf_store_kind_name(kind): folder name of ${kind}. */
const char *
cf_store_kind_name(enum cf_kind kind)
{
	if ((unsigned)kind >= CF_KIND_COUNT)
		return "?";
	return kind_names[kind];
}

/** cf_store_name_ok(kind, name): 1 if ${name} is a valid object name. */
int
cf_store_name_ok(enum cf_kind kind, const char *name)
{
	size_t i;

	if ((unsigned)kind >= CF_KIND_COUNT || name == NULL)
		return 0;
	if (kind == CF_KIND_CONFIG)
		return strcmp(name, "config") == 0;
	for (i = 0; i < 64; i++) {
		char c = name[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return name[64] == '\0';
}

static int
check_name(struct cf_store *s, enum cf_kind kind, const char *name,
    struct cf_err *err)
{
	(void)s;
	if (!cf_store_name_ok(kind, name))
		return cf_err_set(err, CF_EUSAGE, "invalid %s object name",
		    cf_store_kind_name(kind));
	return 0;
}

/** cf_store_open(where, create, err): open the store at ${where}. */
struct cf_store *
cf_store_open(const char *where, int create, struct cf_err *err)
{
	return cf_store_local_open(where, create, err);
}

/** cf_store_free(s): close ${s}. */
void
cf_store_free(struct cf_store *s)
{
	if (s != NULL)
		s->ops->free(s);
}

int
cf_store_put(struct cf_store *s, enum cf_kind kind, const char *name,
    const uint8_t *p, size_t n, int flags, struct cf_err *err)
{
	if (check_name(s, kind, name, err))
		return -1;
	return s->ops->put(s, kind, name, p, n, flags, err);
}

int
cf_store_can_stream(const struct cf_store *s)
{
	return s->ops->stream_open != NULL;
}

struct cf_store_stream *
cf_store_stream_open(struct cf_store *s, enum cf_kind kind, struct cf_err *err)
{
	if (s->ops->stream_open == NULL) {
		cf_err_set(err, CF_EINTERNAL, "%s: no streamed puts", s->where);
		return NULL;
	}
	return s->ops->stream_open(s, kind, err);
}

int
cf_store_stream_write(struct cf_store *s, struct cf_store_stream *st,
    const uint8_t *p, size_t n, struct cf_err *err)
{
	return s->ops->stream_write(st, p, n, err);
}

int
cf_store_stream_commit(struct cf_store *s, struct cf_store_stream *st,
    enum cf_kind kind, const char *name, int flags, struct cf_err *err)
{
	if (check_name(s, kind, name, err)) {
		s->ops->stream_abort(st);
		return -1;
	}
	return s->ops->stream_commit(st, name, flags, err);
}

void
cf_store_stream_abort(struct cf_store *s, struct cf_store_stream *st)
{
	if (st != NULL)
		s->ops->stream_abort(st);
}

int
cf_store_sweep(struct cf_store *s, int64_t before, uint64_t *n, uint64_t *bytes,
    struct cf_err *err)
{
	*n = *bytes = 0;
	if (s->ops->sweep == NULL)
		return 0;
	return s->ops->sweep(s, before, n, bytes, err);
}

int
cf_store_get(struct cf_store *s, enum cf_kind kind, const char *name,
    uint64_t off, uint64_t len, struct cf_buf *out, struct cf_err *err)
{
	if (check_name(s, kind, name, err))
		return -1;
	return s->ops->get(s, kind, name, off, len, out, err);
}

int
cf_store_size(struct cf_store *s, enum cf_kind kind, const char *name,
    uint64_t *size, struct cf_err *err)
{
	if (check_name(s, kind, name, err))
		return -1;
	return s->ops->size(s, kind, name, size, err);
}

int
cf_store_list(struct cf_store *s, enum cf_kind kind, cf_list_fn fn, void *arg,
    struct cf_err *err)
{
	if ((unsigned)kind >= CF_KIND_COUNT || kind == CF_KIND_CONFIG)
		return cf_err_set(err, CF_EUSAGE, "cannot list that kind");
	return s->ops->list(s, kind, fn, arg, err);
}

int
cf_store_del(struct cf_store *s, enum cf_kind kind, const char *name,
    struct cf_err *err)
{
	if (check_name(s, kind, name, err))
		return -1;
	return s->ops->del(s, kind, name, err);
}
