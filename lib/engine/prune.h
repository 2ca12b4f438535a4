/*
 * prune.h: reclaiming space without locks.
 *
 * A prune run does two things, in this order:
 *  1. finish: every plan older than the grace period is carried out: its
 *     packs that still hold no blob any snapshot uses are dropped from the
 *     index (the index is rewritten into fresh files, then the old files
 *     the rewrite covered are deleted), then deleted, then the plan;
 *  2. mark: packs that hold no used blob, and the partly used packs with
 *     the largest unused share until the repository's unused bytes are at
 *     most max_unused of its bytes (after their used blobs are copied,
 *     still compressed, into new packs), go into a new plan (an object
 *     of kind "meta", sealed with the index key so write-only hosts read
 *     it too).
 * Backups read the plans when they start and never reuse a blob that lives
 * in a planned pack, so a pack can only be referenced again by a backup
 * that was already running when the plan was made; such a backup finishes
 * within the grace period (the rule that makes this safe: backups must not
 * run longer than the grace period, default 6 hours), and its snapshot then
 * keeps the pack alive at step 1.  Every step leaves a valid repository if
 * killed.  See docs/ARCHITECTURE.md.
 */
#ifndef CF_PRUNE_H
#define CF_PRUNE_H

#include "engine/engine.h"
#include "util/idset.h"

struct cf_prune_opts {
	int64_t grace_s;
	double max_unused; /* unused share of the repository tolerated */
	int dry_run;
	cf_warn_fn info; /* progress lines; may be NULL */
	void *arg;
};

struct cf_prune_result {
	uint64_t snapshots, used_blobs;
	uint64_t planned, planned_bytes, repacked, repacked_bytes;
	uint64_t deleted, deleted_bytes, kept_alive, plans_done;
	uint64_t swept, swept_bytes; /* leftovers of killed writers */
	/* packs not repacked because a blob in them does not match its id
	 * (the first one named): left for check --read-data to report */
	uint64_t bad_packs;
	char bad_pack[17], bad_blob[17];
};

/** cf_prune(r, o, res, err): one prune run. */
int cf_prune(struct cf_repo *r, const struct cf_prune_opts *o,
    struct cf_prune_result *res, struct cf_err *err) CF_WUR;
/** cf_prune_doomed(r, set, err): the packs of every plan, for backups. */
int cf_prune_doomed(struct cf_repo *r, struct cf_idset *set,
    struct cf_err *err) CF_WUR;

#endif
