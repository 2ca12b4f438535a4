#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

static void
vset(struct cf_err *err, enum cf_errcode code, int e, const char *fmt,
    va_list ap)
{
	size_t n;

	if (err == NULL)
		return;
	err->code = code;
	err->sys_errno = e;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (e != 0) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s",
		    strerror(e));
	}
}

/** cf_err_set(err, code, fmt, ...): fill ${err}; returns -1. */
int
cf_err_set(struct cf_err *err, enum cf_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

/** cf_err_sys(err, fmt, ...): CF_EIO with the current errno; returns -1. */
int
cf_err_sys(struct cf_err *err, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vset(err, e == ENOENT ? CF_ENOTFOUND : CF_EIO, e, fmt, ap);
	va_end(ap);
	return -1;
}

/** cf_err_clear(err): reset ${err}. */
void
cf_err_clear(struct cf_err *err)
{
	err->code = CF_OK;
	err->sys_errno = 0;
	err->msg[0] = '\0';
}

/** cf_err_name(code): constant name of ${code}. */
const char *
cf_err_name(enum cf_errcode code)
{
	static const char *const names[] = {"ok", "out of memory", "I/O error",
	    "format error", "authentication failed", "not found",
	    "limit exceeded", "network error", "database error", "usage error",
	    "wrong password", "internal error", "already exists",
	    "security alert"};

	if ((size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown error";
	return names[code];
}
