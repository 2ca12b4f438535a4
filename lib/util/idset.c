#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/idset.h"

static size_t
id_hash(const uint8_t *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id, 8);
	return (size_t)(h & (cap - 1));
}

static int
grow(struct cf_idset *s)
{
	struct cf_idset ns = {0};

	ns.cap = s->cap ? s->cap * 2 : 1024;
	ns.v = cf_alloc_array(ns.cap, 32);
	ns.used = calloc(ns.cap, 1);
	if (ns.v == NULL || ns.used == NULL) {
		free(ns.v);
		free(ns.used);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->used[i])
			continue;
		size_t j = id_hash(s->v[i], ns.cap);

		while (ns.used[j])
			j = (j + 1) & (ns.cap - 1);
		memcpy(ns.v[j], s->v[i], 32);
		ns.used[j] = 1;
	}
	ns.n = s->n;
	free(s->v);
	free(s->used);
	*s = ns;
	return 0;
}

static size_t
find(const struct cf_idset *s, const uint8_t *id)
{
	size_t i;

	if (s->cap == 0)
		return SIZE_MAX;
	for (i = id_hash(id, s->cap); s->used[i]; i = (i + 1) & (s->cap - 1))
		if (memcmp(s->v[i], id, 32) == 0)
			return i;
	return SIZE_MAX;
}

int
cf_idset_add(struct cf_idset *s, const uint8_t id[static 32])
{
	size_t i;

	if (find(s, id) != SIZE_MAX)
		return 0;
	if ((s->n + 1) * 4 > s->cap * 3 && grow(s))
		return -1;
	for (i = id_hash(id, s->cap); s->used[i]; i = (i + 1) & (s->cap - 1))
		;
	memcpy(s->v[i], id, 32);
	s->used[i] = 1;
	s->n++;
	return 1;
}

void
cf_idset_del(struct cf_idset *s, const uint8_t id[static 32])
{
	size_t i = find(s, id), j, k;

	if (i == SIZE_MAX)
		return;
	s->used[i] = 0;
	s->n--;
	for (j = (i + 1) & (s->cap - 1); s->used[j];
	     j = (j + 1) & (s->cap - 1)) {
		k = id_hash(s->v[j], s->cap);
		/* Move j back to i unless its home lies cyclically in (i, j].
		 */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			memcpy(s->v[i], s->v[j], 32);
			s->used[i] = 1;
			s->used[j] = 0;
			i = j;
		}
	}
}

/** cf_idset_has(s, id): membership. */
int
cf_idset_has(const struct cf_idset *s, const uint8_t id[static 32])
{
	return find(s, id) != SIZE_MAX;
}

/** cf_idset_release(s): free. */
void
cf_idset_release(struct cf_idset *s)
{
	free(s->v);
	free(s->used);
	memset(s, 0, sizeof(*s));
}
