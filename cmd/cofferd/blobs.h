/*
 * blobs.h: cofferd's choice of blob store: files under the data folder
 * (the default), or an S3 bucket (--blobs s3://BUCKET[/PREFIX], --config
 * FILE and the environment).  cmd/ code: reads files and the environment.
 */
#ifndef COFFERD_BLOBS_H
#define COFFERD_BLOBS_H

#include "server/backend.h"

/** cofferd_blobs_open(blobs, config, dir, err): the store for --blobs
 * ${blobs} and --config ${config}; if both are NULL, the folder
 * ${dir}/blobs. */
struct cf_blobs *cofferd_blobs_open(const char *blobs, const char *config,
    const char *dir, struct cf_err *err);

/** cofferd_blobs_help(): the S3 part of 'cofferd --help'. */
void cofferd_blobs_help(void);

#endif
