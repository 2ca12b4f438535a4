/*
 * err.h: the one error type of libcoffer.
 *
 * Fallible functions take a struct cf_err * as their last argument and
 * return 0 (or a pointer) on success, -1 (or NULL) on failure, with *err
 * filled where the failure was first detected.  Library code never prints.
 * Thread-safety: a struct cf_err belongs to one thread at a time.
 */
#ifndef CF_ERR_H
#define CF_ERR_H

#include <stddef.h>

#define CF_WUR __attribute__((warn_unused_result))
#define CF_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum cf_errcode {
	CF_OK = 0,
	CF_ENOMEM,    /* allocation failed */
	CF_EIO,       /* a system call failed; sys_errno says why */
	CF_EFORMAT,   /* bytes that do not parse */
	CF_EAUTH,     /* authentication failed: tampering or wrong key */
	CF_ENOTFOUND, /* an object or path does not exist */
	CF_ELIMIT,    /* a size or count cap was exceeded */
	CF_ENET,      /* network failure */
	CF_EDB,       /* database failure */
	CF_EUSAGE,    /* the caller asked for something impossible */
	CF_EPASS,     /* no key slot opens with the given secret */
	CF_EINTERNAL, /* a bug */
	CF_EEXIST,    /* the object already exists */
	CF_ESECURITY, /* the server misbehaved: rollback, fork, ghost device */
};

struct cf_err {
	enum cf_errcode code;
	int sys_errno;
	char msg[512];
};

/** cf_err_set(err, code, fmt, ...): fill ${err}; returns -1 for tail calls. */
int cf_err_set(struct cf_err *err, enum cf_errcode code, const char *fmt, ...)
    CF_PRINTF(3, 4);

/** cf_err_sys(err, fmt, ...): like cf_err_set with CF_EIO and errno. */
int cf_err_sys(struct cf_err *err, const char *fmt, ...) CF_PRINTF(2, 3);

/** cf_err_clear(err): reset ${err} to CF_OK. */
void cf_err_clear(struct cf_err *err);

/** cf_err_name(code): a constant name for ${code}. */
const char *cf_err_name(enum cf_errcode code);

#endif
