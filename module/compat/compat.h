/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference synfin meets, in one place. Force-included
 * into each module source file by module/Kbuild, so no other file tests
 * LINUX_VERSION_CODE.
 */
#ifndef _SYNFIN_COMPAT_H
#define _SYNFIN_COMPAT_H

/* Every message says it comes from synfin. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 10, 0)
#error "synfin needs Linux 5.10 or newer"
#endif

#endif /* _SYNFIN_COMPAT_H */
