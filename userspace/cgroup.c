// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup v2 ids and paths. The module records a socket's cgroup by id (the
 * kernel's cgroup_id(): the inode number of the cgroup's directory in
 * cgroupfs); users name cgroups by path. --cgroup PATH gives an id for the
 * module's filter; life shows each id as its path, relative to the cgroup2
 * mount as /proc/PID/cgroup writes it ("/system.slice/nginx.service").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include "viewer.h"

/* Where cgroup2 is mounted (mountinfo's 5th field), or "" if nowhere. */
static const char *cgroup2_mount(void)
{
	static char mnt[PATH_MAX];
	static bool looked;
	char line[4096];
	FILE *f;

	if (looked)
		return mnt;
	looked = true;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return mnt;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *field[5], *save = NULL, *p = line;
		int i;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		for (i = 0; i < 5 && (field[i] = strtok_r(p, " ", &save)); i++)
			p = NULL;
		if (i < 5)
			continue;
		/* mountinfo escapes space, tab, newline and backslash as \ooo */
		for (p = field[4], i = 0; *p && i < (int)sizeof(mnt) - 1; i++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
				mnt[i] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 4;
			} else {
				mnt[i] = *p++;
			}
		}
		mnt[i] = 0;
		break;
	}
	fclose(f);
	return mnt;
}

static bool is_cgroup2_dir(const char *path)
{
	struct statfs fs;
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode) && !statfs(path, &fs) &&
	       fs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The kernel's id of a cgroup directory: its file handle, as bpftool reads it. */
static int cgroup_dir_id(const char *path, __u64 *id)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[sizeof(uint64_t)];
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	struct stat st;
	int mount_id;

	if (!name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) &&
	    h.fh.handle_bytes == sizeof(uint64_t)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	/* kernfs numbers a 64-bit kernel's inodes by id */
	if (stat(path, &st))
		return -1;
	*id = st.st_ino;
	return 0;
}

int cgroup_id_of(const char *arg, __u64 *id)
{
	const char *mnt = cgroup2_mount();
	char joined[PATH_MAX];
	const char *path = arg;

	if (!*arg) {
		report_error("--cgroup needs a cgroup v2 path");
		return -1;
	}
	if (!is_cgroup2_dir(path)) {
		/* "/system.slice/x.service", as /proc/PID/cgroup names it */
		if (!*mnt || snprintf(joined, sizeof(joined), "%s/%s", mnt,
				      arg[0] == '/' ? arg + 1 : arg) >= (int)sizeof(joined) ||
		    !is_cgroup2_dir(joined)) {
			if (*mnt)
				report_error("--cgroup: '%s' is not a cgroup v2 directory, nor one under %s (see /proc/PID/cgroup for a process's)",
					     arg, mnt);
			else
				report_error("--cgroup: '%s' is not a cgroup v2 directory, and no cgroup2 file system is mounted here",
					     arg);
			return -1;
		}
		path = joined;
	}
	if (cgroup_dir_id(path, id)) {
		report_error("--cgroup: cannot read the id of %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* id -> path, from walks of the cgroup2 tree */
struct cgroup_name {
	__u64 id;
	char *path;
};

static struct cgroup_name *names;
static size_t nnames, capnames;
static size_t mnt_len;
static time_t last_walk;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct cgroup_name *n;
	const char *rel = path + mnt_len;

	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (nnames == capnames) {
		size_t cap = capnames ? capnames * 2 : 256;

		n = realloc(names, cap * sizeof(*names));
		if (!n)
			return 1;	/* out of memory: a partial list, walked again later */
		names = n;
		capnames = cap;
	}
	n = &names[nnames];
	/* The id as the module has it (a 32-bit kernel's inode is not it). */
	if (cgroup_dir_id(path, &n->id))
		n->id = st->st_ino;
	n->path = strdup(*rel ? rel : "/");
	if (!n->path)
		return 1;
	nnames++;
	return 0;
}

static void walk_cgroups(void)
{
	const char *mnt = cgroup2_mount();

	for (size_t i = 0; i < nnames; i++)
		free(names[i].path);
	nnames = 0;
	last_walk = time(NULL);
	if (!*mnt)
		return;
	mnt_len = strlen(mnt);
	if (mnt_len == 1)
		mnt_len = 0;	/* mounted on / (a container): paths as they are */
	nftw(mnt, walk_one, 16, FTW_PHYS | FTW_MOUNT);
}

const char *cgroup_path(uint64_t id)
{
	if (!id)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nnames; i++)
			if (names[i].id == id)
				return names[i].path;
		/* A cgroup made since the last walk: walk again, at most once a second. */
		if (pass || time(NULL) == last_walk)
			break;
		walk_cgroups();
	}
	return NULL;
}
