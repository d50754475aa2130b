// SPDX-License-Identifier: GPL-2.0
/*
 * synfin: trace the lifecycle of every TCP connection.
 * Module parameters, init and exit: the wiring of hook -> ring -> device.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include "synfin.h"

#define SYNFIN_RING_MIN		64
#define SYNFIN_RING_MAX		(1U << 20)
#define SYNFIN_RING_DEFAULT	4096

#define SYNFIN_TRACK_DEFAULT	(1U << 18)

static unsigned int synfin_ring_size = SYNFIN_RING_DEFAULT;
static unsigned int synfin_tw_max = SYNFIN_TRACK_DEFAULT;
static unsigned int synfin_owner_max = SYNFIN_TRACK_DEFAULT;
static u32 synfin_hook_active = SYNFIN_HOOK_NONE;

static const char *const synfin_hook_names[] = {
	[SYNFIN_HOOK_NONE]       = "auto",
	[SYNFIN_HOOK_TRACEPOINT] = "tracepoint",
	[SYNFIN_HOOK_KPROBE]     = "kprobe",
};
static u32 synfin_hook_wanted = SYNFIN_HOOK_NONE;	/* auto */

/* Refuse a bad value at load time, with a message that says what is allowed. */
static int synfin_param_set_ring_size(const char *val,
				      const struct kernel_param *kp)
{
	unsigned int n;
	int err = kstrtouint(val, 0, &n);

	if (err || n < SYNFIN_RING_MIN || n > SYNFIN_RING_MAX ||
	    !is_power_of_2(n)) {
		pr_err("ring_size=%s invalid: need a power of two from %u to %u\n",
		       val, SYNFIN_RING_MIN, SYNFIN_RING_MAX);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = n;
	return 0;
}

static const struct kernel_param_ops synfin_ring_size_ops = {
	.set = synfin_param_set_ring_size,
	.get = param_get_uint,
};

module_param_cb(ring_size, &synfin_ring_size_ops, &synfin_ring_size, 0444);
MODULE_PARM_DESC(ring_size,
		 "Records per CPU ring, a power of two from 64 to 1048576 (192 bytes each; default 4096)");

static int synfin_param_set_hook(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(synfin_hook_names, val);

	if (i < 0) {
		pr_err("hook=%s invalid: use auto, tracepoint or kprobe\n", val);
		return -EINVAL;
	}
	synfin_hook_wanted = i;
	return 0;
}

static int synfin_param_get_hook(char *buf, const struct kernel_param *kp)
{
	/* Once loaded: the mode in use. */
	u32 h = synfin_hook_active != SYNFIN_HOOK_NONE ? synfin_hook_active
						       : synfin_hook_wanted;

	return sysfs_emit(buf, "%s\n", synfin_hook_names[h]);
}

static const struct kernel_param_ops synfin_hook_ops = {
	.set = synfin_param_set_hook,
	.get = synfin_param_get_hook,
};

module_param_cb(hook, &synfin_hook_ops, NULL, 0444);
MODULE_PARM_DESC(hook,
		 "How to see state changes: auto (the tracepoint when present), tracepoint (sock:inet_sock_set_state) or kprobe (inet_sk_state_store + inet_sk_set_state); default auto. Reads back the mode in use.");

u32 synfin_families __read_mostly = SYNFIN_FAM_ALL;

static const char *const synfin_family_names[] = {
	[ilog2(SYNFIN_FAM_STATE)]	= "state",
	[ilog2(SYNFIN_FAM_TIMEWAIT)]	= "timewait",
	[ilog2(SYNFIN_FAM_OWNER)]	= "owner",
	[ilog2(SYNFIN_FAM_ACCEPT)]	= "accept",
	[ilog2(SYNFIN_FAM_CLONE)]	= "clone",
	[ilog2(SYNFIN_FAM_COUNTS)]	= "counts",
};

/* "all", "none", or a comma list of synfin_family_names. */
static int synfin_param_set_families(const char *val,
				     const struct kernel_param *kp)
{
	char *list, *cur, *name;
	u32 fam = 0;
	int i, err = 0;

	if (sysfs_streq(val, "all")) {
		synfin_families = SYNFIN_FAM_ALL;
		return 0;
	}
	if (sysfs_streq(val, "none")) {
		synfin_families = 0;
		return 0;
	}
	list = kstrdup(val, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	cur = strim(list);
	while ((name = strsep(&cur, ",")) != NULL) {
		i = match_string(synfin_family_names,
				 ARRAY_SIZE(synfin_family_names), strim(name));
		if (i < 0) {
			pr_err("families=%s invalid: use all, none, or a comma list of state, timewait, owner, accept, clone, counts\n",
			       val);
			err = -EINVAL;
			break;
		}
		fam |= BIT(i);
	}
	kfree(list);
	if (err)
		return err;
	/* accept and clone only feed the owner cache: not without it. */
	if (!(fam & SYNFIN_FAM_OWNER) && (fam & (SYNFIN_FAM_ACCEPT | SYNFIN_FAM_CLONE))) {
		pr_info("families=%s: accept and clone left out, they feed the owner cache\n", val);
		fam &= ~(SYNFIN_FAM_ACCEPT | SYNFIN_FAM_CLONE);
	}
	synfin_families = fam;
	return 0;
}

/* The families as the parameter reads back, with a newline. */
static int synfin_families_format(char *buf, size_t len)
{
	int i, n = 0;

	if (synfin_families == SYNFIN_FAM_ALL)
		return scnprintf(buf, len, "all\n");
	if (!synfin_families)
		return scnprintf(buf, len, "none\n");
	for (i = 0; i < ARRAY_SIZE(synfin_family_names); i++)
		if (synfin_families & BIT(i))
			n += scnprintf(buf + n, len - n, "%s%s", n ? "," : "",
				       synfin_family_names[i]);
	return n + scnprintf(buf + n, len - n, "\n");
}

static int synfin_param_get_families(char *buf, const struct kernel_param *kp)
{
	return synfin_families_format(buf, PAGE_SIZE);
}

static const struct kernel_param_ops synfin_families_ops = {
	.set = synfin_param_set_families,
	.get = synfin_param_get_families,
};

/* Load time only: hooks are registered by family. */
module_param_cb(families, &synfin_families_ops, NULL, 0444);
MODULE_PARM_DESC(families,
		 "What synfin does: all (default), none, or a comma list of state (a record per state change), timewait (timewait hooks and exact TIME_WAIT counts), owner (the owner cache and state times), accept (the acceptor owns its sockets), clone (a passive open inherits its listener's owner), counts (per-transition counters). What is left out reads as not available (EOPNOTSUPP) or is absent from records.");

static int synfin_param_set_wake_delay(const char *val,
				       const struct kernel_param *kp)
{
	unsigned int us;

	if (kstrtouint(val, 0, &us) || us > SYNFIN_WAKE_DELAY_MAX) {
		pr_err("wake_delay_us=%s invalid: need 0 to %u\n", val,
		       SYNFIN_WAKE_DELAY_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(synfin_wake_delay_us, us);
	return 0;
}

static const struct kernel_param_ops synfin_wake_delay_ops = {
	.set = synfin_param_set_wake_delay,
	.get = param_get_uint,
};

/* Writable at run time: a single word, read once per wake-up. */
module_param_cb(wake_delay_us, &synfin_wake_delay_ops, &synfin_wake_delay_us, 0644);
MODULE_PARM_DESC(wake_delay_us,
		 "Wake blocked readers at most this often, in microseconds, 0 to 1000000 (0: at every first record; default 1000). Writable at run time.");

static int synfin_param_set_track(const char *val, const struct kernel_param *kp)
{
	unsigned int n;

	if (kstrtouint(val, 0, &n) || n < 1024 || n > (1U << 24)) {
		pr_err("%s=%s invalid: need 1024 to 16777216\n", kp->name, val);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = n;
	return 0;
}

static const struct kernel_param_ops synfin_track_ops = {
	.set = synfin_param_set_track,
	.get = param_get_uint,
};

module_param_cb(tw_max, &synfin_track_ops, &synfin_tw_max, 0444);
MODULE_PARM_DESC(tw_max,
		 "Most timewait socks tracked at once, 1024 to 16777216 (beyond: counted as untracked; default 262144)");
module_param_cb(owner_max, &synfin_track_ops, &synfin_owner_max, 0444);
MODULE_PARM_DESC(owner_max,
		 "Most sockets whose owner is cached at once, 1024 to 16777216 (default 262144)");

u32 synfin_hook_in_use(void)
{
	return synfin_hook_active;
}

static int synfin_hook_register(void)
{
	int err;

	if (!synfin_family(SYNFIN_FAM_STATE))
		return 0;

	if (synfin_hook_wanted != SYNFIN_HOOK_KPROBE) {
		err = synfin_hook_tracepoint_register();
		if (!err) {
			synfin_hook_active = SYNFIN_HOOK_TRACEPOINT;
			return 0;
		}
		if (synfin_hook_wanted == SYNFIN_HOOK_TRACEPOINT)
			return err;
		pr_info("tracepoint unavailable (%d), falling back to kprobes\n", err);
	}
	err = synfin_hook_kprobe_register();
	if (!err)
		synfin_hook_active = SYNFIN_HOOK_KPROBE;
	return err;
}

static void synfin_hook_unregister(void)
{
	if (synfin_hook_active == SYNFIN_HOOK_TRACEPOINT)
		synfin_hook_tracepoint_unregister();
	else if (synfin_hook_active == SYNFIN_HOOK_KPROBE)
		synfin_hook_kprobe_unregister();
	synfin_hook_active = SYNFIN_HOOK_NONE;
}

static int __init synfin_init(void)
{
	char fam[64];
	int err;

	BUILD_BUG_ON(sizeof(struct synfin_event) != SYNFIN_EVENT_SIZE);
	BUILD_BUG_ON(ARRAY_SIZE(synfin_family_names) != ilog2(SYNFIN_FAM_ALL + 1));
	BUILD_BUG_ON(sizeof(struct synfin_capture_header) !=
		     SYNFIN_CAPTURE_HEADER_SIZE);

	err = synfin_ring_init(synfin_ring_size);
	if (err)
		return err;
	err = synfin_owner_init(synfin_owner_max);
	if (err)
		goto free_ring;
	err = synfin_timewait_init(synfin_tw_max);
	if (err)
		goto free_owner;
	/* Before the hooks: on 5.10 records need the netns ids it gives. */
	err = synfin_netns_init();
	if (err)
		goto free_timewait;
	err = synfin_hook_register();
	if (err)
		goto unregister_netns;
	/* After the hooks: what entered timewait before them is walked now. */
	err = synfin_timewait_count_existing();
	if (err)
		goto unhook;
	err = synfin_chardev_register();
	if (err)
		goto unhook;

	if (synfin_families == SYNFIN_FAM_ALL) {
		pr_info("loaded: ABI %d, %u records per CPU ring, hook %s\n",
			SYNFIN_ABI_VERSION, synfin_ring_size,
			synfin_hook_names[synfin_hook_active]);
	} else {
		synfin_families_format(fam, sizeof(fam));	/* ends in \n */
		pr_info("loaded: ABI %d, %u records per CPU ring, hook %s, only families %s",
			SYNFIN_ABI_VERSION, synfin_ring_size,
			synfin_family(SYNFIN_FAM_STATE) ?
			synfin_hook_names[synfin_hook_active] : "none", fam);
	}
	return 0;

unhook:
	synfin_hook_unregister();
unregister_netns:
	synfin_netns_exit();
free_timewait:
	synfin_timewait_exit();
free_owner:
	synfin_owner_exit();
free_ring:
	synfin_ring_exit();
	return err;
}

static void __exit synfin_exit(void)
{
	/* Open files pin the module, so no reader is left by now. */
	synfin_chardev_unregister();
	synfin_hook_unregister();
	/* /proc/net/synfin_tw readers are waited out before the tables go. */
	synfin_netns_exit();
	synfin_timewait_exit();
	synfin_owner_exit();
	synfin_ring_exit();
	/* Everything allocated was accounted; anything left is a leak. */
	WARN_ONCE(atomic_long_read(&synfin_mem_bytes),
		  "synfin: %ld bytes still accounted at unload\n",
		  atomic_long_read(&synfin_mem_bytes));
	pr_info("unloaded\n");
}

module_init(synfin_init);
module_exit(synfin_exit);

MODULE_LICENSE("GPL");	/* tracepoint_probe_register() is EXPORT_SYMBOL_GPL */
MODULE_AUTHOR("synfin developers");
MODULE_DESCRIPTION("Trace the lifecycle of every TCP connection: SYN to FIN to TIME_WAIT");
MODULE_VERSION("0.1");
