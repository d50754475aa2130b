// SPDX-License-Identifier: GPL-2.0
/*
 * Who owns a socket: pid/tgid/comm cached, by socket cookie, where the
 * process acts on it (connect, listen, accept), so events that run later in
 * softirq, where `current` is whoever was interrupted, still name the owner.
 * A passive-open child inherits its listener's owner until it is accepted.
 * The same entry keeps the time of the connection's last state change, so
 * each event can tell the time spent in the state it leaves; a socket seen
 * first in softirq (opened before load) gets an entry with no owner.
 *
 * An entry goes when its socket's CLOSE is recorded. One whose CLOSE was
 * not seen (a hook skipped, a race with accept()) would stay for good and,
 * once the cache is full, every new owner would be dropped. So when the
 * cache is more than three quarters full, entries not used for
 * owner_idle_s seconds are swept out (an idle connection's among them: its
 * owner is learnt anew when it acts in process context), and a full cache
 * starts a sweep at once, at most once a second.
 */
#include <linux/hash.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <net/sock.h>
#include "synfin.h"

#define SYNFIN_OWNER_BITS	12

struct synfin_owner {
	struct hlist_node node;
	u64 cookie;
	unsigned long touched;		/* jiffies: stored or read */
	u64 changed_ns;			/* last state change; 0: not seen */
	u32 pid, tgid;			/* tgid 0: owner not known */
	char comm[TASK_COMM_LEN];
};

#define SYNFIN_OWNER_IDLE_DEFAULT	600	/* s */
#define SYNFIN_OWNER_IDLE_MAX		86400

static unsigned int synfin_owner_idle_s = SYNFIN_OWNER_IDLE_DEFAULT;
static atomic64_t synfin_owner_evicted;
static void synfin_owner_sweep_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(synfin_owner_sweep, synfin_owner_sweep_fn);
static bool synfin_owner_running;
static unsigned int synfin_owner_max;
static unsigned long synfin_owner_last_forced;	/* jiffies */

/*
 * A full cache asks for a sweep from a hook, in any context (an int3
 * kprobe runs like an NMI): through an irq_work, which may be queued from
 * there, and which queues the work.
 */
static void synfin_owner_full_fn(struct irq_work *work)
{
	if (READ_ONCE(synfin_owner_running))
		mod_delayed_work(system_unbound_wq, &synfin_owner_sweep, 0);
}

static struct irq_work synfin_owner_full_work;

static int synfin_param_set_owner_idle(const char *val,
				       const struct kernel_param *kp)
{
	unsigned int s;

	if (kstrtouint(val, 0, &s) || !s || s > SYNFIN_OWNER_IDLE_MAX) {
		pr_err("owner_idle_s=%s invalid: need 1 to %u\n", val,
		       SYNFIN_OWNER_IDLE_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(synfin_owner_idle_s, s);
	/* A shorter age takes effect now, not at the old period's end. */
	if (READ_ONCE(synfin_owner_running))
		mod_delayed_work(system_unbound_wq, &synfin_owner_sweep, 0);
	return 0;
}

static const struct kernel_param_ops synfin_owner_idle_ops = {
	.set = synfin_param_set_owner_idle,
	.get = param_get_uint,
};

module_param_cb(owner_idle_s, &synfin_owner_idle_ops, &synfin_owner_idle_s, 0644);
MODULE_PARM_DESC(owner_idle_s,
		 "Forget a cached owner not used for this many seconds, 1 to 86400 (default 600). Writable at run time.");

static struct hlist_head synfin_owner_hash[1 << SYNFIN_OWNER_BITS];
static raw_spinlock_t synfin_owner_locks[64];
static struct synfin_pool synfin_owner_pool;
static atomic64_t synfin_owner_dropped;
static atomic_t synfin_owner_entries;

static unsigned int synfin_owner_bucket(u64 cookie)
{
	return hash_64(cookie, SYNFIN_OWNER_BITS);
}

static raw_spinlock_t *synfin_owner_lock(unsigned int bucket)
{
	return &synfin_owner_locks[bucket % ARRAY_SIZE(synfin_owner_locks)];
}

static struct synfin_owner *synfin_owner_find(unsigned int b, u64 cookie)
{
	struct synfin_owner *o;

	hlist_for_each_entry(o, &synfin_owner_hash[b], node)
		if (o->cookie == cookie)
			return o;
	return NULL;
}

/*
 * An entry for @cookie, found or added; NULL if the cache is full. An
 * owner that finds no room is counted (owner_dropped) and asks for a
 * sweep; a connection's change time alone (no owner known) is not worth
 * the pool's lock when the pool is empty, nor a count.
 */
static struct synfin_owner *synfin_owner_find_add(unsigned int b, u64 cookie,
						  bool owner, bool *added)
{
	struct synfin_owner *o = synfin_owner_find(b, cookie);

	*added = false;
	if (o)
		return o;
	if (!owner && !READ_ONCE(synfin_owner_pool.free))
		return NULL;
	/* The pool has its own lock; taking it here is a fixed order. */
	o = synfin_pool_get(&synfin_owner_pool);
	if (!o) {
		if (!owner)
			return NULL;
		atomic64_inc(&synfin_owner_dropped);
		/* Full: sweep now rather than at the next period. */
		if (time_after(jiffies, READ_ONCE(synfin_owner_last_forced) + HZ)) {
			WRITE_ONCE(synfin_owner_last_forced, jiffies);
			irq_work_queue(&synfin_owner_full_work);
		}
		return NULL;
	}
	o->cookie = cookie;
	hlist_add_head(&o->node, &synfin_owner_hash[b]);
	atomic_inc(&synfin_owner_entries);
	*added = true;
	return o;
}

static void synfin_owner_fill(struct synfin_owner *o, u32 pid, u32 tgid,
			      const char *comm)
{
	o->pid = pid;
	o->tgid = tgid;
	memcpy(o->comm, comm, TASK_COMM_LEN);
}

/*
 * keep: an owner and a time already there (later, better ones) stay.
 * changed_ns: the connection changed state then (0: no change now).
 */
static void synfin_owner_store(u64 cookie, u32 pid, u32 tgid, const char *comm,
			       bool keep, u64 changed_ns)
{
	unsigned int b = synfin_owner_bucket(cookie);
	struct synfin_owner *o;
	unsigned long flags;
	bool added;

	if (!cookie || !synfin_family(SYNFIN_FAM_OWNER))
		return;
	raw_spin_lock_irqsave(synfin_owner_lock(b), flags);
	o = synfin_owner_find_add(b, cookie, tgid != 0, &added);
	if (o) {
		o->touched = jiffies;
		/* keep: a later change already timed (a Fast Open child's ACK
		 * on another CPU while its clone was held) keeps its time. */
		if (changed_ns && (added || !keep || !o->changed_ns))
			o->changed_ns = changed_ns;
		if (added || !keep || !o->tgid)
			synfin_owner_fill(o, pid, tgid, comm);
	}
	raw_spin_unlock_irqrestore(synfin_owner_lock(b), flags);
}

/*
 * The calling process owns the socket with this cookie (and it changed
 * state at changed_ns, if not 0). current->comm is copied as trace events
 * copy it: get_task_comm() takes task_lock, a sleeping lock on PREEMPT_RT,
 * and hooks run with interrupts off.
 */
void synfin_owner_set_current(u64 cookie, u64 changed_ns)
{
	synfin_owner_store(cookie, current->pid, current->tgid, current->comm,
			   false, changed_ns);
}

static void synfin_owner_copy(const struct synfin_owner *o, struct synfin_event *ev)
{
	ev->pid = o->pid;
	ev->tgid = o->tgid;
	memcpy(ev->comm, o->comm, sizeof(ev->comm));
}

/* Fill ev's owner from the cache; false if unknown. */
bool synfin_owner_get(u64 cookie, struct synfin_event *ev)
{
	unsigned int b = synfin_owner_bucket(cookie);
	struct synfin_owner *o;
	unsigned long flags;
	bool found = false;

	if (!synfin_family(SYNFIN_FAM_OWNER))
		return false;
	raw_spin_lock_irqsave(synfin_owner_lock(b), flags);
	o = synfin_owner_find(b, cookie);
	if (o && o->tgid) {
		o->touched = jiffies;
		synfin_owner_copy(o, ev);
		found = true;
	}
	raw_spin_unlock_irqrestore(synfin_owner_lock(b), flags);
	return found;
}

/*
 * The socket with this cookie changes state at @now: @ev gets the time
 * spent in the state it leaves, if its last change was seen, and its
 * owner, if known (true). @task, acting on its own socket, becomes the
 * owner of an entry that has none (false: the caller names it).
 * SYNFIN_STEP_ADD: a socket with no entry gets one from now on.
 * SYNFIN_STEP_PEEK: the time is read, not restarted (a timewait entry: the
 * full socket's own CLOSE right after still leaves the same state).
 */
bool synfin_owner_step(u64 cookie, struct synfin_event *ev, u64 now,
		       const struct task_struct *task, unsigned int how)
{
	unsigned int b = synfin_owner_bucket(cookie);
	struct synfin_owner *o;
	unsigned long flags;
	bool found = false, added;

	if (!cookie || !synfin_family(SYNFIN_FAM_OWNER))
		return false;
	raw_spin_lock_irqsave(synfin_owner_lock(b), flags);
	o = (how & SYNFIN_STEP_ADD) ? synfin_owner_find_add(b, cookie, task != NULL, &added) :
				      synfin_owner_find(b, cookie);
	if (o) {
		o->touched = jiffies;
		if (o->changed_ns && now > o->changed_ns) {
			ev->state_ns = now - o->changed_ns;
			ev->have |= SYNFIN_HAVE_STATE_TIME;
		}
		if (!(how & SYNFIN_STEP_PEEK))
			o->changed_ns = now;
		if (o->tgid) {
			synfin_owner_copy(o, ev);
			found = true;
		} else if (task) {
			synfin_owner_fill(o, task->pid, task->tgid, task->comm);
		}
	}
	raw_spin_unlock_irqrestore(synfin_owner_lock(b), flags);
	return found;
}

/*
 * @ev's owner for the socket with this cookie, unless it has one already
 * (TCP Fast Open: accept() can run before the handshake's ACK, and named
 * the acceptor); born_ns starts its time in its first state. A passive
 * open's child gets its listener's owner so (record.c), even when none is
 * known: its next change needs its birth.
 */
void synfin_owner_adopt(u64 cookie, const struct synfin_event *ev, u64 born_ns)
{
	synfin_owner_store(cookie, ev->pid, ev->tgid, ev->comm, true, born_ns);
}

void synfin_owner_forget(u64 cookie)
{
	unsigned int b = synfin_owner_bucket(cookie);
	struct synfin_owner *o;
	unsigned long flags;

	if (!synfin_family(SYNFIN_FAM_OWNER))
		return;
	raw_spin_lock_irqsave(synfin_owner_lock(b), flags);
	o = synfin_owner_find(b, cookie);
	if (o) {
		hlist_del(&o->node);
		atomic_dec(&synfin_owner_entries);
	}
	raw_spin_unlock_irqrestore(synfin_owner_lock(b), flags);
	if (o)
		synfin_pool_put(&synfin_owner_pool, o);
}

/*
 * Drop entries idle longer than owner_idle_s, one bucket per lock hold
 * (interrupts are off meanwhile), then come back a quarter of that later.
 */
static void synfin_owner_sweep_fn(struct work_struct *work)
{
	unsigned long idle = READ_ONCE(synfin_owner_idle_s) * (unsigned long)HZ;
	unsigned int b;

	/* Room enough: a long-idle connection keeps its owner. */
	if (atomic_read(&synfin_owner_entries) <= synfin_owner_max / 4 * 3)
		goto again;
	for (b = 0; b < ARRAY_SIZE(synfin_owner_hash); b++) {
		struct synfin_owner *o;
		struct hlist_node *tmp;
		HLIST_HEAD(gone);
		unsigned long flags;

		raw_spin_lock_irqsave(synfin_owner_lock(b), flags);
		hlist_for_each_entry_safe(o, tmp, &synfin_owner_hash[b], node) {
			if (time_before(jiffies, o->touched + idle))
				continue;
			hlist_del(&o->node);
			hlist_add_head(&o->node, &gone);
			atomic_dec(&synfin_owner_entries);
			atomic64_inc(&synfin_owner_evicted);
		}
		raw_spin_unlock_irqrestore(synfin_owner_lock(b), flags);
		hlist_for_each_entry_safe(o, tmp, &gone, node)
			synfin_pool_put(&synfin_owner_pool, o);
		if (!(b % 256))
			cond_resched();
	}
again:
	queue_delayed_work(system_unbound_wq, &synfin_owner_sweep,
			   max(idle / 4, 1UL));
}

void synfin_owner_health(struct synfin_health *h)
{
	h->owner_entries = atomic_read(&synfin_owner_entries);
	h->owner_evicted = atomic64_read(&synfin_owner_evicted);
}

u64 synfin_owner_dropped_count(void)
{
	return atomic64_read(&synfin_owner_dropped);
}

/* accept() hands @sk to the calling process: it owns the socket now. */
static void synfin_owner_accepted(struct sock *sk)
{
	if (!sk || IS_ERR(sk) || sk->sk_protocol != IPPROTO_TCP)
		return;
	/*
	 * Reset before accept() (health checks): its CLOSE, where the entry
	 * would go, is already recorded. One that closes right after this
	 * test is left to the sweep.
	 */
	if (READ_ONCE(sk->sk_state) == TCP_CLOSE)
		return;
	synfin_owner_set_current(synfin_sock_cookie(sk), 0);
}

/*
 * Where accept() gives the child to the acceptor: sock_graft() calls
 * security_sock_graft(sk, parent) in the accepting task (inet_accept(),
 * and __inet_accept() from 6.10, io_uring and kernel_accept() included).
 * An entry probe: a thread parked in a blocking accept() holds nothing,
 * where a return probe on inet_csk_accept() holds one of its maxactive
 * instances for as long as it waits.
 */
static int synfin_graft_pre(struct kprobe *p, struct pt_regs *regs)
{
	synfin_owner_accepted((struct sock *)regs_get_kernel_argument(regs, 0));
	return 0;
}

static struct kprobe synfin_graft_probe = {
	.symbol_name	= "security_sock_graft",
	.pre_handler	= synfin_graft_pre,
	.post_handler	= synfin_kp_unoptimized,
};

/*
 * Without security_sock_graft() (CONFIG_SECURITY_NETWORK off, where it is
 * an empty inline): inet_csk_accept()'s return, with room for this many
 * threads blocked in accept() at once; beyond, accepts are missed and
 * counted (hook_missed).
 */
#define SYNFIN_ACCEPT_MAXACTIVE	4096

static int synfin_accept_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	synfin_owner_accepted((struct sock *)regs_return_value(regs));
	return 0;
}

static struct kretprobe synfin_accept_probe = {
	.kp.symbol_name	= "inet_csk_accept",
	.handler	= synfin_accept_ret,
	.maxactive	= SYNFIN_ACCEPT_MAXACTIVE,
};

static bool synfin_accept_by_graft;

static int synfin_accept_register(void)
{
	int err;

	synfin_accept_by_graft = !register_kprobe(&synfin_graft_probe);
	if (synfin_accept_by_graft)
		return 0;
	err = register_kretprobe(&synfin_accept_probe);
	if (err)
		pr_err("cannot probe security_sock_graft or inet_csk_accept (owner of accepted sockets): %d\n", err);
	return err;
}

static void synfin_accept_unregister(void)
{
	if (synfin_accept_by_graft)
		unregister_kprobe(&synfin_graft_probe);
	else
		unregister_kretprobe(&synfin_accept_probe);
}

/*
 * A passive open's child is cloned from its listener: note which, so the
 * child's first event (LISTEN->SYN_RECV, fired inside this call) inherits
 * the listener's owner. The child itself no longer says: from 7.x its
 * cookie field holds the request sock's cookie by the time that event
 * fires (record.c).
 */
static int synfin_clone_pre(struct kprobe *p, struct pt_regs *regs)
{
	/* inet_csk_clone_lock(listener, req, priority) */
	synfin_record_note_clone((const struct sock *)regs_get_kernel_argument(regs, 0),
				 (const struct sock *)regs_get_kernel_argument(regs, 1));
	return 0;
}

static bool synfin_clone_probed;
static struct kprobe synfin_clone_probe = {
	.symbol_name	= "inet_csk_clone_lock",
	.pre_handler	= synfin_clone_pre,
	.post_handler	= synfin_kp_unoptimized,
};

/*
 * Accepts and clones not seen: no free instance, or nested in another
 * probe.
 */
u64 synfin_owner_missed(void)
{
	return (u64)synfin_accept_probe.nmissed + synfin_accept_probe.kp.nmissed +
	       synfin_graft_probe.nmissed + synfin_clone_probe.nmissed;
}

int synfin_owner_init(unsigned int max)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(synfin_owner_locks); i++)
		raw_spin_lock_init(&synfin_owner_locks[i]);
	synfin_owner_max = max;
	init_irq_work(&synfin_owner_full_work, synfin_owner_full_fn);
	err = synfin_pool_init(&synfin_owner_pool, sizeof(struct synfin_owner),
			       min(max, 4096U), max);
	if (err)
		return err;
	if (synfin_family(SYNFIN_FAM_ACCEPT)) {
		err = synfin_accept_register();
		if (err)
			goto destroy_pool;
	}
	/*
	 * Optional: without it a passive open's first events take the owner
	 * from the child's cookie field, right before 7.x only.
	 */
	if (synfin_family(SYNFIN_FAM_CLONE)) {
		synfin_clone_probed = !register_kprobe(&synfin_clone_probe);
		if (!synfin_clone_probed)
			pr_warn("cannot probe inet_csk_clone_lock: passive opens may show no owner until accept()\n");
	}
	WRITE_ONCE(synfin_owner_running, true);
	queue_delayed_work(system_unbound_wq, &synfin_owner_sweep,
			   max(synfin_owner_idle_s * (unsigned long)HZ / 4, 1UL));
	return 0;

destroy_pool:
	synfin_pool_destroy(&synfin_owner_pool);
	return err;
}

/* Hooks are gone and quiesced. */
void synfin_owner_exit(void)
{
	unsigned int i;

	if (synfin_clone_probed)
		unregister_kprobe(&synfin_clone_probe);
	if (synfin_family(SYNFIN_FAM_ACCEPT))
		synfin_accept_unregister();
	/*
	 * owner_idle_s's setter queues the sweep if this is set; it runs
	 * under the parameter lock, so none is left half-way when the sweep
	 * is cancelled for good.
	 */
	kernel_param_lock(THIS_MODULE);
	WRITE_ONCE(synfin_owner_running, false);
	kernel_param_unlock(THIS_MODULE);
	irq_work_sync(&synfin_owner_full_work);
	cancel_delayed_work_sync(&synfin_owner_sweep);
	for (i = 0; i < ARRAY_SIZE(synfin_owner_hash); i++)
		INIT_HLIST_HEAD(&synfin_owner_hash[i]);
	atomic_set(&synfin_owner_entries, 0);
	atomic64_set(&synfin_owner_evicted, 0);
	synfin_pool_destroy(&synfin_owner_pool);
}
