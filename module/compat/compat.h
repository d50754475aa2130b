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

#include <linux/jiffies.h>
#include <linux/timer.h>
#include <net/inet_timewait_sock.h>

/*
 * Where a timewait sock is hashed in, and how long its timer was armed for.
 * Up to 6.8, tcp_time_wait() arms the timer (inet_twsk_schedule) before
 * inet_twsk_hashdance(tw, sk, hashinfo), so the timer tells.
 */
#define SYNFIN_TW_HASHDANCE "inet_twsk_hashdance"

static inline u32 synfin_compat_tw_timeout_ms(const struct inet_timewait_sock *tw,
					      struct pt_regs *regs)
{
	unsigned long expires = READ_ONCE(tw->tw_timer.expires);

	if (!timer_pending(&tw->tw_timer) || time_after(jiffies, expires))
		return 0;
	return jiffies_to_msecs(expires - jiffies);
}

#endif /* _SYNFIN_COMPAT_H */
