// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/synfin: each open file is an independent reader with its own cursor
 * (the /dev/kmsg model). read() returns whole records; lost records are
 * reported in-stream as SYNFIN_EV_LOST markers and counted per file.
 *
 * An open file holds a reference on the module (the misc core takes it),
 * so rmmod is refused with EBUSY while any reader is open; close the
 * readers, then unload.
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nsproxy.h>
#include <linux/poll.h>
#include <net/net_namespace.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <synfin/filter.h>
#include "synfin.h"

/* Records copied to user space per batch (one bounce buffer per read). */
#define SYNFIN_READ_BATCH	64

struct synfin_file {
	struct mutex lock;		/* serializes readers of this file */
	struct synfin_cursor cursor;
	struct synfin_filter filter;	/* SYNFIN_IOC_SET_FILTER */
	/* The opener's netns, held for the file's life: "own netns" below. */
	struct net *net;
	/* Restricted to it (see synfin_open()): its inode number, else 0. */
	u32 own_netns;
	/* The opener's user namespace, which record uids are shown in (the
	 * file's cred holds it). */
	struct user_namespace *user_ns;
	u64 filtered;			/* records the filter dropped */
	/* The next record that passed the filter, found while testing for
	 * readiness (poll, or a blocked read about to sleep). */
	struct synfin_event held;
	bool have_held;
	/* Records gathered under the lock, copied out in one go: one buffer
	 * per open file, not an allocation per read(). */
	struct synfin_event batch[SYNFIN_READ_BATCH];
};

static atomic_t synfin_readers;

u32 synfin_chardev_readers(void)
{
	return atomic_read(&synfin_readers);
}

static int synfin_open(struct inode *inode, struct file *file)
{
	struct synfin_file *sf;
	int err;

	if (!(file->f_mode & FMODE_READ) || (file->f_mode & FMODE_WRITE))
		return -EINVAL;	/* nothing to write: open O_RDONLY */

	sf = kvzalloc(sizeof(*sf), GFP_KERNEL);
	if (!sf)
		return -ENOMEM;
	mutex_init(&sf->lock);
	/*
	 * Like /dev/kmsg, judged once at open, with the opener's credentials,
	 * and scoped like inet_diag: the all-namespaces view is for an opener
	 * in the initial netns with CAP_NET_ADMIN in the initial user
	 * namespace. Anyone else, a container given NET_ADMIN without a user
	 * namespace (CNI, mesh init containers) included, sees its own netns
	 * only. The net is pinned, so the file can never come to mean another
	 * netns that later gets the same inode number; records are matched by
	 * synfin_net_id(), never by that number.
	 */
	sf->net = get_net(current->nsproxy->net_ns);
	if (!net_eq(sf->net, &init_net) || !capable(CAP_NET_ADMIN))
		sf->own_netns = sf->net->ns.inum;
	err = synfin_cursor_init(&sf->cursor,
				 sf->own_netns ? synfin_net_id(sf->net) : 0);
	if (err)
		goto put_net;
	sf->user_ns = file->f_cred->user_ns;
	file->private_data = sf;
	synfin_mem_account(sizeof(*sf));
	atomic_inc(&synfin_readers);
	return nonseekable_open(inode, file);

put_net:
	put_net(sf->net);
	kvfree(sf);
	return err;
}

static int synfin_release(struct inode *inode, struct file *file)
{
	struct synfin_file *sf = file->private_data;

	atomic_dec(&synfin_readers);
	synfin_cursor_destroy(&sf->cursor);
	put_net(sf->net);
	kvfree(sf);
	synfin_mem_account(-(long)sizeof(*sf));
	return 0;
}

/*
 * The next record for this file that passes its filter; the ones that do
 * not are consumed here and counted, so a filtered reader sleeps through
 * them. Other namespaces' records never reach a restricted file (the
 * cursor skips them), so nothing here counts them. Caller holds sf->lock.
 */
/* @can_wait: see synfin_cursor_next(). */
static bool synfin_file_next(struct synfin_file *sf, struct synfin_event *ev,
			     bool can_wait)
{
	if (sf->have_held) {
		*ev = sf->held;
		sf->have_held = false;
		return true;
	}
	while (synfin_cursor_next(&sf->cursor, ev, can_wait)) {
		if (synfin_filter_match(&sf->filter, ev))
			return true;
		sf->cursor.delivered--;
		sf->filtered++;
	}
	return false;
}

/* Caller holds sf->lock. */
static bool synfin_file_ready_locked(struct synfin_file *sf)
{
	if (sf->have_held)
		return true;
	if (!sf->filter.match && !sf->own_netns)
		return synfin_cursor_ready(&sf->cursor);
	/* Called to decide whether to sleep: never waits for a writer. */
	sf->have_held = synfin_file_next(sf, &sf->held, false);
	return sf->have_held;
}

static bool synfin_file_ready(struct synfin_file *sf)
{
	bool ready;

	/* A reader holding the lock is about to consume: report ready. */
	if (!mutex_trylock(&sf->lock))
		return true;
	ready = synfin_file_ready_locked(sf);
	mutex_unlock(&sf->lock);
	return ready;
}

static bool synfin_file_wait_cond(struct synfin_file *sf)
{
	synfin_ring_arm_wakeup();
	return synfin_file_ready(sf);
}

/* Record uids (the initial namespace's) as the opener's namespace has them. */
static void synfin_file_map_uids(struct synfin_file *sf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sf->batch[i].have & SYNFIN_HAVE_SOCK)
			sf->batch[i].uid = from_kuid_munged(sf->user_ns,
							    KUIDT_INIT(sf->batch[i].uid));
}

static ssize_t synfin_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct synfin_file *sf = file->private_data;
	size_t want = count / sizeof(struct synfin_event);
	size_t n = 0;
	ssize_t ret;

	if (!want)
		return -EINVAL;	/* whole records only */
	want = min_t(size_t, want, SYNFIN_READ_BATCH);

	for (;;) {
		if (mutex_lock_interruptible(&sf->lock))
			return -ERESTARTSYS;
		/* Only the first record may wait for a writer: with some in
		 * hand, a short read now beats a spin. */
		while (n < want && synfin_file_next(sf, &sf->batch[n], n == 0))
			n++;
		if (n)
			break;
		mutex_unlock(&sf->lock);

		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(*synfin_ring_waitqueue(),
					       synfin_file_wait_cond(sf));
		if (ret)
			return ret;
	}

	if (sf->user_ns != &init_user_ns)
		synfin_file_map_uids(sf, n);
	if (copy_to_user(buf, sf->batch, n * sizeof(*sf->batch))) {
		/* Consumed but not delivered: report them as lost, never hide. */
		sf->cursor.delivered -= n;
		synfin_cursor_lose_own(&sf->cursor, n);
		ret = -EFAULT;
	} else {
		synfin_ring_account(n);
		ret = n * sizeof(*sf->batch);
	}
	mutex_unlock(&sf->lock);
	return ret;
}

static __poll_t synfin_poll(struct file *file, poll_table *wait)
{
	struct synfin_file *sf = file->private_data;

	poll_wait(file, synfin_ring_waitqueue(), wait);
	return synfin_file_wait_cond(sf) ? EPOLLIN | EPOLLRDNORM : 0;
}

static long synfin_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct synfin_file *sf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SYNFIN_IOC_ABI_VERSION:
		return SYNFIN_ABI_VERSION;

	case SYNFIN_IOC_STATS: {
		struct synfin_stats st;

		/* Module-wide counts tell of every netns's traffic. */
		if (sf->own_netns)
			return -EPERM;
		memset(&st, 0, sizeof(st));
		synfin_record_stats(&st);
		synfin_ring_stats(&st);
		st.readers = synfin_chardev_readers();
		st.hook = synfin_hook_in_use();
		st.tw_untracked = synfin_timewait_untracked();
		st.hook_missed = synfin_timewait_missed() + synfin_owner_missed() +
				 synfin_hook_kprobe_missed();
		st.mem_bytes = atomic_long_read(&synfin_mem_bytes);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}

	case SYNFIN_IOC_READER_STATS: {
		struct synfin_reader_stats rs;

		memset(&rs, 0, sizeof(rs));
		mutex_lock(&sf->lock);
		rs.delivered = sf->cursor.delivered;
		rs.lost = sf->cursor.lost;
		rs.pending = synfin_cursor_pending(&sf->cursor) + sf->have_held;
		rs.filtered = sf->filtered;
		mutex_unlock(&sf->lock);
		return copy_to_user(uarg, &rs, sizeof(rs)) ? -EFAULT : 0;
	}

	case SYNFIN_IOC_CLOCK: {
		struct synfin_clock clk;

		clk.mono_ns = ktime_get_ns();
		clk.real_ns = ktime_get_real_ns();
		return copy_to_user(uarg, &clk, sizeof(clk)) ? -EFAULT : 0;
	}

	case SYNFIN_IOC_TW_QUERY: {
		struct synfin_tw_query q;
		int err;

		if (!synfin_family(SYNFIN_FAM_TIMEWAIT))
			return -EOPNOTSUPP;	/* loaded without it */

		if (copy_from_user(&q, uarg, sizeof(q)))
			return -EFAULT;
		if (q.__pad)
			return -EINVAL;
		if (sf->own_netns && q.netns && q.netns != sf->own_netns)
			return -EPERM;
		/* netns 0: the file's own, whatever netns the caller is in now. */
		err = synfin_timewait_query(&q, sf->net);
		if (err)
			return err;
		return copy_to_user(uarg, &q, sizeof(q)) ? -EFAULT : 0;
	}

	case SYNFIN_IOC_TW_NETNS: {
		struct synfin_tw_netns_list l;
		int err;

		if (!synfin_family(SYNFIN_FAM_TIMEWAIT))
			return -EOPNOTSUPP;	/* loaded without it */

		if (copy_from_user(&l, uarg, sizeof(l)))
			return -EFAULT;
		err = synfin_timewait_netns(&l, sf->own_netns ? synfin_net_id(sf->net) : 0);
		if (err)
			return err;
		return copy_to_user(uarg, &l, sizeof(l)) ? -EFAULT : 0;
	}

	case SYNFIN_IOC_SET_FILTER: {
		struct synfin_filter f;

		if (copy_from_user(&f, uarg, sizeof(f)))
			return -EFAULT;
		if (synfin_filter_check(&f))
			return -EINVAL;
		/* Records carry the initial namespace's uid: compare with that. */
		if (f.match & SYNFIN_FILTER_UID) {
			kuid_t kuid = make_kuid(sf->user_ns, f.uid);

			if (!uid_valid(kuid))
				return -EINVAL;
			f.uid = __kuid_val(kuid);
		}
		mutex_lock(&sf->lock);
		sf->filter = f;
		/* A record held under the old filter is judged again. */
		if (sf->have_held && !synfin_filter_match(&f, &sf->held)) {
			sf->have_held = false;
			sf->filtered++;
		}
		mutex_unlock(&sf->lock);
		return 0;
	}

	case SYNFIN_IOC_TRANSITIONS: {
		struct synfin_transitions *t;
		int err = 0;

		if (sf->own_netns)
			return -EPERM;
		if (!synfin_family(SYNFIN_FAM_COUNTS))
			return -EOPNOTSUPP;	/* loaded without them */
		t = kmalloc(sizeof(*t), GFP_KERNEL);	/* 1.5 KiB: not on the stack */
		if (!t)
			return -ENOMEM;
		synfin_record_transitions(t);
		if (copy_to_user(uarg, t, sizeof(*t)))
			err = -EFAULT;
		kfree(t);
		return err;
	}

	case SYNFIN_IOC_HEALTH: {
		struct synfin_health h;

		if (sf->own_netns)
			return -EPERM;
		memset(&h, 0, sizeof(h));
		synfin_owner_health(&h);
		synfin_timewait_health(&h);
		return copy_to_user(uarg, &h, sizeof(h)) ? -EFAULT : 0;
	}

	case SYNFIN_IOC_REWIND:
		if (arg)
			return -EINVAL;
		mutex_lock(&sf->lock);
		synfin_cursor_rewind(&sf->cursor);
		sf->have_held = false;	/* it is in the ring again */
		mutex_unlock(&sf->lock);
		return 0;
	}
	return -ENOTTY;
}

static const struct file_operations synfin_fops = {
	.owner		= THIS_MODULE,
	.open		= synfin_open,
	.release	= synfin_release,
	.read		= synfin_read,
	.poll		= synfin_poll,
	.unlocked_ioctl	= synfin_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice synfin_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "synfin",
	.fops	= &synfin_fops,
	.mode	= 0600,
};

int synfin_chardev_register(void)
{
	int err = misc_register(&synfin_misc);

	if (err)
		pr_err("cannot register /dev/synfin: %d\n", err);
	return err;
}

void synfin_chardev_unregister(void)
{
	misc_deregister(&synfin_misc);
}
