// SPDX-License-Identifier: GPL-2.0
/*
 * synfin: trace the lifecycle of every TCP connection.
 * Module parameters, init and exit: the wiring of hook -> ring -> device.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include "synfin.h"

#define SYNFIN_RING_MIN		64
#define SYNFIN_RING_MAX		(1U << 20)
#define SYNFIN_RING_DEFAULT	4096

unsigned int synfin_ring_size = SYNFIN_RING_DEFAULT;
static u32 synfin_hook_active = SYNFIN_HOOK_NONE;

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
		 "Records per CPU ring, a power of two from 64 to 1048576 (128 bytes each; default 4096)");

u32 synfin_hook_in_use(void)
{
	return synfin_hook_active;
}

static int __init synfin_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct synfin_event) != SYNFIN_EVENT_SIZE);
	BUILD_BUG_ON(sizeof(struct synfin_capture_header) !=
		     SYNFIN_CAPTURE_HEADER_SIZE);

	err = synfin_ring_init(synfin_ring_size);
	if (err)
		return err;

	err = synfin_hook_tracepoint_register();
	if (err)
		goto free_ring;
	synfin_hook_active = SYNFIN_HOOK_TRACEPOINT;

	err = synfin_chardev_register();
	if (err)
		goto unhook;

	pr_info("loaded: ABI %d, %u records per CPU ring, hook tracepoint\n",
		SYNFIN_ABI_VERSION, synfin_ring_size);
	return 0;

unhook:
	synfin_hook_tracepoint_unregister();
free_ring:
	synfin_ring_exit();
	return err;
}

static void __exit synfin_exit(void)
{
	/* Open files pin the module, so no reader is left by now. */
	synfin_chardev_unregister();
	synfin_hook_tracepoint_unregister();
	synfin_ring_exit();
	pr_info("unloaded\n");
}

module_init(synfin_init);
module_exit(synfin_exit);

MODULE_LICENSE("GPL");	/* tracepoint_probe_register() is EXPORT_SYMBOL_GPL */
MODULE_AUTHOR("synfin developers");
MODULE_DESCRIPTION("Trace the lifecycle of every TCP connection: SYN to FIN to TIME_WAIT");
MODULE_VERSION("0.1");
