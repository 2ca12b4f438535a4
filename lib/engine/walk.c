/* walk.c: file system helpers of the engine: metadata, xattrs, patterns. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/engine_internal.h"

#define XATTR_LIST_MAX_BYTES 65536
#define XATTR_VAL_MAX_BYTES 65536

/** cf_fs_node_stat(n, st): metadata of ${st} into ${n}. */
int
cf_fs_node_stat(struct cf_node *n, const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		n->type = CF_NT_FILE;
		break;
	case S_IFDIR:
		n->type = CF_NT_DIR;
		break;
	case S_IFLNK:
		n->type = CF_NT_SYMLINK;
		break;
	case S_IFIFO:
		n->type = CF_NT_FIFO;
		break;
	case S_IFCHR:
		n->type = CF_NT_CHR;
		break;
	case S_IFBLK:
		n->type = CF_NT_BLK;
		break;
	case S_IFSOCK:
		n->type = CF_NT_SOCK;
		break;
	default:
		return -1;
	}
	n->mode = st->st_mode & 07777;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->mtime_s = st->st_mtim.tv_sec;
	n->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	n->ctime_s = st->st_ctim.tv_sec;
	n->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
	n->atime_s = st->st_atim.tv_sec;
	n->atime_ns = (uint32_t)st->st_atim.tv_nsec;
	n->size = n->type == CF_NT_FILE || n->type == CF_NT_SYMLINK
	              ? (uint64_t)st->st_size
	              : 0;
	n->ino = st->st_ino;
	n->dev = st->st_dev;
	n->nlink = st->st_nlink;
	n->rdev =
	    n->type == CF_NT_CHR || n->type == CF_NT_BLK ? st->st_rdev : 0;
	return 0;
}

/** cf_fs_read_xattrs(path, out): encoded xattr list, sorted by name. */
int
cf_fs_read_xattrs(const char *path, struct cf_buf *out)
{
	char list[XATTR_LIST_MAX_BYTES], *names[4096];
	uint8_t val[XATTR_VAL_MAX_BYTES];
	ssize_t len, vlen;
	size_t cnt = 0;

	out->len = 0;
	len = llistxattr(path, list, sizeof(list));
	if (len < 0)
		return errno == ENOTSUP || errno == ENODATA ? 0 : -1;
	for (ssize_t i = 0; i < len && cnt < 4096;
	     i += (ssize_t)strlen(list + i) + 1)
		names[cnt++] = list + i;
	if (cnt == 0)
		return 0;
	qsort(names, cnt, sizeof(char *), cf_fs_str_cmp);
	cf_buf_add_uvar(out, cnt);
	for (size_t i = 0; i < cnt; i++) {
		vlen = lgetxattr(path, names[i], val, sizeof(val));
		if (vlen < 0)
			vlen = 0; /* removed meanwhile: record empty */
		cf_buf_add_str(out, names[i]);
		cf_buf_add_bytes(out, val, (size_t)vlen);
	}
	return out->failed ? -1 : 0;
}

/** cf_fs_write_xattrs(fd, path, list, n): apply an encoded xattr list. */
int
cf_fs_write_xattrs(int fd, const char *path, const uint8_t *list, size_t n)
{
	const uint8_t *name, *val;
	size_t nn, vn;
	uint64_t cnt;
	struct cf_rd r;
	char key[256];
	int failed = 0;

	if (n == 0)
		return 0;
	cf_rd_init(&r, list, n);
	if (cf_rd_uvar(&r, &cnt))
		return 1;
	for (uint64_t i = 0; i < cnt; i++) {
		if (cf_xattrs_next(&r, &name, &nn, &val, &vn) ||
		    nn >= sizeof(key))
			return failed + 1;
		memcpy(key, name, nn);
		key[nn] = '\0';
		if ((fd >= 0 ? fsetxattr(fd, key, val, vn, 0)
		             : lsetxattr(path, key, val, vn, 0)) != 0)
			failed++;
	}
	return failed;
}

int
cf_fs_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

int
cf_fs_is_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
		if ((i & 4095) == 0 && acc)
			return 0;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

char *
cf_path_join(const char *dir, const char *name, size_t n)
{
	size_t dl = strlen(dir);
	char *p = malloc(dl + n + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, dl);
	if (dl == 0 || dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, name, n);
	p[dl + n] = '\0';
	return p;
}

/* Folders are listed without touching their atime, which is part of the
 * snapshot: else an unchanged folder would encode to a new tree next time. */
int
cf_fs_open_dir(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd;
}

int
cf_fs_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
cf_fs_free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
excluded(const struct cf_backup_opts *o, const char *dir, const char *name)
{
	char *full = cf_path_join(dir, name, strlen(name));
	int ex = full != NULL &&
	         cf_exclude_match(o->excludes, o->nexcludes, full, name);

	free(full);
	return ex;
}

/** cf_fs_list_dir(o, fd, path, out, nout): the names in folder ${fd} that
 * no pattern of ${o} excludes, sorted. */
int
cf_fs_list_dir(const struct cf_backup_opts *o, int fd, const char *path,
    char ***out, size_t *nout)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	DIR *dir;
	int dfd;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 ||
	    (dir = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	rewinddir(dir);
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (o->nexcludes > 0 && excluded(o, path, de->d_name))
			continue;
		if (n == cap) {
			void *np;

			cap = cap ? cap * 2 : 32;
			if ((np = cf_realloc_array(v, cap, sizeof(char *))) ==
			    NULL)
				goto fail;
			v = np;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	if (errno != 0)
		goto fail;
	closedir(dir);
	if (n > 1)
		qsort(v, n, sizeof(char *), cf_fs_str_cmp);
	*out = v;
	*nout = n;
	return 0;
fail:
	closedir(dir);
	cf_fs_free_names(v, n);
	return -1;
}

/** cf_fs_abs_path(in): ${in} lexically normalised, made absolute against
 * the cwd; malloc()ed. */
char *
cf_fs_abs_path(const char *in)
{
	char cwd[4096], *src, *out, *tok, *save;
	size_t len = 0;

	if (in[0] == '/')
		snprintf(cwd, sizeof(cwd), "%s", "");
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if ((src = malloc(strlen(cwd) + strlen(in) + 2)) == NULL)
		return NULL;
	sprintf(src, "%s/%s", cwd, in);
	if ((out = malloc(strlen(src) + 2)) == NULL) {
		free(src);
		return NULL;
	}
	out[0] = '\0';
	for (tok = strtok_r(src, "/", &save); tok != NULL;
	     tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			char *s = strrchr(out, '/');

			len = s ? (size_t)(s - out) : 0;
			out[len] = '\0';
			continue;
		}
		len += (size_t)sprintf(out + len, "/%s", tok);
	}
	if (len == 0)
		strcpy(out, "/");
	free(src);
	return out;
}

/** cf_exclude_match(pats, n, path, base): does a pattern exclude it? */
int
cf_exclude_match(const char *const *pats, size_t n, const char *path,
    const char *base)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr(pats[i], '/') != NULL) {
			if (fnmatch(pats[i], path, 0) == 0)
				return 1;
		} else if (fnmatch(pats[i], base, 0) == 0) {
			return 1;
		}
	}
	return 0;
}
