/*
 * forget.h: which snapshots to keep, and forgetting the others.
 *
 * The policy is restic's, so a user's habits carry over: within each group
 * of snapshots with the same host and paths, newest first, keep the N
 * newest (last), the newest of each of the N most recent hours, days,
 * ISO weeks, months and years that have snapshots, every snapshot within a
 * duration of the group's newest, and every snapshot with a kept tag.  A
 * snapshot is kept if any rule keeps it; each decision says why.
 * cf_forget_decide is pure.  Forgetting writes a forget record (an
 * envelope of type CF_OBJ_FORGET in the store's "meta" objects) naming the
 * snapshots, then deletes them: devices that saw those snapshots can tell
 * a forget from a server hiding them.
 */
#ifndef CF_FORGET_H
#define CF_FORGET_H

#include "repo/repo.h"
#include "util/idset.h"

struct cf_forget_policy {
	int last, hourly, daily, weekly, monthly, yearly;
	int64_t within_s; /* 0: no such rule */
	const char *const *keep_tags;
	size_t nkeep_tags;
	const char *host; /* only snapshots of this host, if not NULL */
};

struct cf_forget_decision {
	const struct cf_snapshot *s;
	int keep;
	char reason[160];
};

/** cf_forget_any(p): 1 if the policy keeps something (forgetting with an
 * empty policy would drop every snapshot: callers refuse it). */
int cf_forget_any(const struct cf_forget_policy *p);
/** cf_forget_decide(v, n, p, out): a decision for each of the ${n}
 * snapshots (oldest first, as cf_repo_snapshots gives them). */
void cf_forget_decide(struct cf_snapshot *const *v, size_t n,
    const struct cf_forget_policy *p, struct cf_forget_decision *out);
/** cf_forget_apply(r, names, n, err): write the forget record, then
 * delete the snapshots. */
int cf_forget_apply(struct cf_repo *r, char (*names)[65], size_t n,
    struct cf_err *err) CF_WUR;
/** cf_forget_load(r, set, err): the names (as 32 bytes) of every
 * snapshot forgotten on purpose, into ${set}. */
int cf_forget_load(struct cf_repo *r, struct cf_idset *set,
    struct cf_err *err) CF_WUR;

#endif
