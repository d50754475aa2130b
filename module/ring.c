// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU event rings with kmsg-style readers.
 *
 * Producers write only their own CPU's ring, with local interrupts off for
 * the record copy: no locks, no atomics, no shared cache line written per
 * event. Each slot carries the sequence number of the record in it, written
 * last, so a lock-free reader can tell a whole record from one being
 * overwritten (seqcount-style: check before and after the copy).
 *
 * Each ring also says whether its CPU is between taking a record's time and
 * committing it (`writing`): a reader merging the rings by time must not
 * hand out a record while another CPU may still commit an older one, or two
 * readers reading at different moments would see different orders.
 *
 * Readers never block producers: a reader that falls a full ring behind
 * loses the oldest records, and the loss is counted exactly from the
 * sequence numbers and reported in-stream.
 *
 * Wake-ups are batched: a reader that runs dry arms one flag; the first
 * producer to see it queues one irq_work, which starts a timer that wakes
 * every waiter wake_delay_us later (at once if 0). Records that come in the
 * meantime find the flag down and cost nothing more, so a busy host wakes
 * its readers at most once per delay instead of once per record. No reader
 * waiting, or a reader still busy draining, costs producers one read of a
 * rarely written flag.
 */
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include "synfin.h"

#define SYNFIN_SLOT_BUSY	U64_MAX

struct synfin_slot {
	u64 seq;			/* sequence of ev, or SYNFIN_SLOT_BUSY */
	/*
	 * The netns the record is about (synfin_net_id(): never reused while
	 * the kernel runs), for readers restricted to one netns. Kept beside
	 * the record, not in it: readers never see it.
	 */
	u64 net_id;
	struct synfin_event ev;
};

/* synfin_cpu_ring.writing: between these, the time the record will have. */
#define SYNFIN_WRITING_NONE	0
#define SYNFIN_WRITING_UNSTAMPED 1

struct synfin_cpu_ring {
	u64 head;			/* next sequence; written by its CPU only */
	u64 writing;			/* see synfin_ring_stamp(); its CPU only */
	struct synfin_slot *slots;
};

static struct synfin_cpu_ring __percpu *synfin_rings;
static unsigned int synfin_ring_mask;

static atomic_t synfin_wake_armed;
static DECLARE_WAIT_QUEUE_HEAD(synfin_waitq);
static atomic64_t synfin_delivered;
static atomic64_t synfin_lost_overrun;

unsigned int synfin_wake_delay_us = SYNFIN_WAKE_DELAY_DEFAULT;
static struct hrtimer synfin_wake_timer;

static void synfin_wake_fn(struct irq_work *work)
{
	unsigned int us = READ_ONCE(synfin_wake_delay_us);

	if (!us) {
		wake_up_interruptible_all(&synfin_waitq);
		return;
	}
	/* Two CPUs may both get here: a second start only moves the expiry. */
	if (!hrtimer_is_queued(&synfin_wake_timer))
		hrtimer_start(&synfin_wake_timer, us * NSEC_PER_USEC,
			      HRTIMER_MODE_REL);
}

static enum hrtimer_restart synfin_wake_timer_fn(struct hrtimer *timer)
{
	wake_up_interruptible_all(&synfin_waitq);
	return HRTIMER_NORESTART;
}

static struct irq_work synfin_wake_work;

atomic_long_t synfin_mem_bytes = ATOMIC_LONG_INIT(0);

static size_t synfin_ring_bytes;

/* The per-CPU slot arrays allocated so far (NULL ones are skipped). */
static void synfin_ring_free_slots(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct synfin_cpu_ring *r = per_cpu_ptr(synfin_rings, cpu);

		vfree(r->slots);
		r->slots = NULL;
	}
	free_percpu(synfin_rings);
	synfin_rings = NULL;
}

/*
 * The wake-up irq_work and hrtimer are set up only once every ring is in
 * place, so a failed allocation unwinds memory alone: an hrtimer that was
 * never initialised must not be cancelled.
 */
int synfin_ring_init(unsigned int records_per_cpu)
{
	int cpu;

	synfin_ring_mask = records_per_cpu - 1;
	/* Zeroed: a CPU whose slots are not allocated yet has slots NULL. */
	synfin_rings = alloc_percpu(struct synfin_cpu_ring);
	if (!synfin_rings)
		return -ENOMEM;

	for_each_possible_cpu(cpu) {
		struct synfin_cpu_ring *r = per_cpu_ptr(synfin_rings, cpu);
		unsigned int i;

		r->slots = vmalloc_node(array_size(records_per_cpu,
						   sizeof(*r->slots)),
					cpu_to_node(cpu));
		if (!r->slots)
			goto free_slots;
		for (i = 0; i < records_per_cpu; i++)
			r->slots[i].seq = SYNFIN_SLOT_BUSY;
		r->head = 0;
	}
	synfin_ring_bytes = num_possible_cpus() *
		(sizeof(struct synfin_cpu_ring) +
		 array_size(records_per_cpu, sizeof(struct synfin_slot)));
	synfin_mem_account(synfin_ring_bytes);
	init_irq_work(&synfin_wake_work, synfin_wake_fn);
	synfin_hrtimer_setup(&synfin_wake_timer, synfin_wake_timer_fn,
			     CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	return 0;

free_slots:
	synfin_ring_free_slots();
	return -ENOMEM;
}

/* Callers have unhooked producers and waited for them to finish. */
void synfin_ring_exit(void)
{
	if (!synfin_rings)
		return;
	irq_work_sync(&synfin_wake_work);
	hrtimer_cancel(&synfin_wake_timer);
	synfin_ring_free_slots();
	synfin_mem_account(-(long)synfin_ring_bytes);
	synfin_ring_bytes = 0;
}

/*
 * The time for the record this CPU writes next, interrupts off until that
 * synfin_ring_write(). Until then the ring says it is writing, and from
 * when: a reader about to hand out a record of time T from another ring
 * waits while this one may still commit one older than T. The mark is
 * made visible before the clock is read, so a reader that does not see it
 * chose T before this time was taken.
 */
u64 synfin_ring_stamp(void)
{
	struct synfin_cpu_ring *r;
	u64 now;

	lockdep_assert_irqs_disabled();
	r = this_cpu_ptr(synfin_rings);
	WRITE_ONCE(r->writing, SYNFIN_WRITING_UNSTAMPED);
	/* Pairs with smp_rmb() in synfin_cursor_next(). The clock read is
	 * ordered after it: rdtsc_ordered() on x86, isb on arm64's timer. */
	smp_mb();
	now = ktime_get_ns();
	WRITE_ONCE(r->writing, now);
	return now;
}

/*
 * Append @ev, stamping its CPU and (unless set) its time. Any context but
 * NMI, with interrupts off: a hardirq or nested softirq on this CPU cannot
 * interleave with the slot being written. A time that is set must come
 * from synfin_ring_stamp(), interrupts off since.
 */
void synfin_ring_write(const struct synfin_event *ev, u64 net_id)
{
	struct synfin_cpu_ring *r;
	struct synfin_slot *slot;
	u64 seq, ts;

	lockdep_assert_irqs_disabled();
	ts = ev->ts_ns ?: synfin_ring_stamp();
	r = this_cpu_ptr(synfin_rings);
	seq = r->head;
	slot = &r->slots[seq & synfin_ring_mask];
	WRITE_ONCE(slot->seq, SYNFIN_SLOT_BUSY);
	smp_wmb();
	slot->ev = *ev;
	slot->net_id = net_id;
	/*
	 * Stamped with interrupts off since, so each CPU's ring is in time
	 * order, which the readers' merge relies on. A producer passes its
	 * own stamp when the time must match something else in the record
	 * (the state time, tw_hooks.c's counts).
	 */
	slot->ev.ts_ns = ts;
	slot->ev.cpu = smp_processor_id();
	smp_wmb();
	WRITE_ONCE(slot->seq, seq);
	smp_store_release(&r->head, seq + 1);
	/* After head: a reader that sees the mark gone sees the record. */
	smp_store_release(&r->writing, SYNFIN_WRITING_NONE);

	/* Pairs with the barrier in synfin_ring_arm_wakeup(). */
	smp_mb();
	if (atomic_read(&synfin_wake_armed) &&
	    atomic_xchg(&synfin_wake_armed, 0))
		irq_work_queue(&synfin_wake_work);
}

/*
 * A reader is about to test for data and sleep (or return from poll): arm
 * the wake-up first, so a record committed after the test is never missed.
 */
void synfin_ring_arm_wakeup(void)
{
	atomic_set(&synfin_wake_armed, 1);
	smp_mb__after_atomic();
}

struct wait_queue_head *synfin_ring_waitqueue(void)
{
	return &synfin_waitq;
}

int synfin_cursor_init(struct synfin_cursor *c, u64 net_id)
{
	int cpu;

	memset(c, 0, sizeof(*c));
	c->net_id = net_id;
	c->stalled_cpu = -1;
	c->pos = kcalloc(nr_cpu_ids, sizeof(*c->pos), GFP_KERNEL);
	c->peek = kvcalloc(nr_cpu_ids, sizeof(*c->peek), GFP_KERNEL);
	c->peeked = bitmap_zalloc(nr_cpu_ids, GFP_KERNEL);
	if (!c->pos || !c->peek || !c->peeked) {
		synfin_cursor_destroy(c);
		return -ENOMEM;
	}
	c->bytes = nr_cpu_ids * (sizeof(*c->pos) + sizeof(*c->peek)) +
		   BITS_TO_LONGS(nr_cpu_ids) * sizeof(long);
	synfin_mem_account(c->bytes);
	/* Like a fresh `tail -f`: start at what comes next. */
	for_each_possible_cpu(cpu)
		c->pos[cpu] = smp_load_acquire(&per_cpu_ptr(synfin_rings, cpu)->head);
	return 0;
}

void synfin_cursor_destroy(struct synfin_cursor *c)
{
	kfree(c->pos);
	kvfree(c->peek);
	bitmap_free(c->peeked);
	c->pos = NULL;
	c->peek = NULL;
	c->peeked = NULL;
	synfin_mem_account(-(long)c->bytes);
	c->bytes = 0;
}

void synfin_cursor_rewind(struct synfin_cursor *c)
{
	u64 size = (u64)synfin_ring_mask + 1;
	int cpu;

	for_each_possible_cpu(cpu) {
		u64 head = smp_load_acquire(&per_cpu_ptr(synfin_rings, cpu)->head);

		c->pos[cpu] = head > size ? head - size : 0;
	}
	bitmap_zero(c->peeked, nr_cpu_ids);
}

/*
 * n records this reader will never get: count them and report in-stream.
 * A reader restricted to one netns cannot tell how many of them were its
 * own, and must not learn how busy the others were: it counts one per
 * loss, whatever its size.
 */
void synfin_cursor_lose(struct synfin_cursor *c, u64 n)
{
	atomic64_add(n, &synfin_lost_overrun);
	if (c->net_id)
		n = 1;
	c->lost_pending += n;
	c->lost += n;
}

/* n records of this reader's own it will never get (a failed copy-out). */
void synfin_cursor_lose_own(struct synfin_cursor *c, u64 n)
{
	atomic64_add(n, &synfin_lost_overrun);
	c->lost_pending += n;
	c->lost += n;
}

/* Copy the next record of @cpu's ring into c->peek[cpu]. */
static bool synfin_cursor_peek(struct synfin_cursor *c, int cpu)
{
	struct synfin_cpu_ring *r = per_cpu_ptr(synfin_rings, cpu);
	u64 size = (u64)synfin_ring_mask + 1;
	unsigned int skipped = 0;

	for (;;) {
		u64 head = smp_load_acquire(&r->head);
		u64 pos = c->pos[cpu];
		struct synfin_slot *slot;
		bool theirs = false;
		u64 seq;

		if (pos >= head)
			return false;
		if (head - pos > size) {
			synfin_cursor_lose(c, head - size - pos);
			pos = head - size;
			c->pos[cpu] = pos;
		}
		slot = &r->slots[pos & synfin_ring_mask];
		seq = READ_ONCE(slot->seq);
		smp_rmb();
		if (seq == pos) {
			/* Another netns's record is not copied, only skipped. */
			theirs = c->net_id && READ_ONCE(slot->net_id) != c->net_id;
			if (!theirs)
				c->peek[cpu] = slot->ev;
			smp_rmb();
			seq = READ_ONCE(slot->seq);
		}
		if (seq != pos) {
			/*
			 * pos < head, so record pos was committed: a different
			 * sequence here means a newer record overwrote it.
			 */
			synfin_cursor_lose(c, 1);
			c->pos[cpu] = pos + 1;
			continue;
		}
		c->pos[cpu] = pos + 1;
		if (theirs) {
			/* Not there, for this reader: uncounted. A ring's worth
			 * of them can come in a row: let others run. */
			if (!(++skipped % 4096))
				cond_resched();
			continue;
		}
		__set_bit(cpu, c->peeked);
		return true;
	}
}

static bool synfin_cursor_behind(struct synfin_cursor *c, int cpu)
{
	return c->pos[cpu] <
	       smp_load_acquire(&per_cpu_ptr(synfin_rings, cpu)->head);
}

/*
 * How long a reader waits for a CPU that took a record's time and has not
 * committed it: interrupts are off there, so this is microseconds, unless
 * a hypervisor stopped that vCPU. After this, order gives way to progress.
 */
#define SYNFIN_WRITER_WAIT_NS	(20 * NSEC_PER_MSEC)

/*
 * May @cpu's ring still give this reader a record older than @ts? Yes if
 * it has records not peeked yet, or is writing one timed at or before @ts
 * (or not timed yet); *mark is then that ring's mark. The mark is read
 * before head: seen gone, its record is seen in head (release order in
 * synfin_ring_write()).
 */
static bool synfin_cursor_may_precede(struct synfin_cursor *c, int cpu,
				      u64 ts, u64 *mark)
{
	struct synfin_cpu_ring *r = per_cpu_ptr(synfin_rings, cpu);
	u64 w = smp_load_acquire(&r->writing);

	*mark = SYNFIN_WRITING_NONE;
	if (synfin_cursor_behind(c, cpu))
		return true;
	if (w != SYNFIN_WRITING_NONE && w <= ts) {
		*mark = w;
		return true;
	}
	return false;
}

static void synfin_make_lost(struct synfin_cursor *c, struct synfin_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->abi = SYNFIN_ABI_VERSION;
	ev->kind = SYNFIN_EV_LOST;
	ev->ts_ns = ktime_get_ns();
	ev->cpu = raw_smp_processor_id();
	ev->lost = c->lost_pending;
	c->lost_pending = 0;
}

/*
 * Next record for this reader in timestamp order across CPUs, or a LOST
 * marker when records were lost since the last one. Caller serializes,
 * in process context.
 *
 * After choosing the oldest peeked record, re-check the rings that had
 * nothing: if one has gained a record, it may be older, so choose again;
 * if one is writing a record timed at or before it, wait for that record.
 * So every reader hands out the same records in the same order, whenever
 * it reads. Without @can_wait it does not wait but returns false (the
 * caller has records to hand out already, or is about to sleep: the
 * writer's commit wakes it). A writer waited out SYNFIN_WRITER_WAIT_NS in
 * vain (its vCPU stopped) is not waited for again until its mark moves.
 */
bool synfin_cursor_next(struct synfin_cursor *c, struct synfin_event *out,
			bool can_wait)
{
	u64 wait_start = 0, t, mark;
	unsigned int spins;
	bool again;
	int cpu, best;

	do {
		best = -1;
		for_each_possible_cpu(cpu) {
			if (!test_bit(cpu, c->peeked))
				synfin_cursor_peek(c, cpu);
			if (test_bit(cpu, c->peeked) &&
			    (best < 0 || c->peek[cpu].ts_ns < c->peek[best].ts_ns))
				best = cpu;
		}
		if (c->lost_pending) {
			synfin_make_lost(c, out);
			return true;
		}
		if (best < 0)
			return false;
		t = c->peek[best].ts_ns;
		/*
		 * A writer whose mark we miss takes its time after we look;
		 * once the clock is past t, that time is later than t, not
		 * equal to it (which the CPU order below would break
		 * differently for another reader).
		 */
		for (spins = 0; ktime_get_ns() <= t && spins < 10000; spins++)
			cpu_relax();	/* bounded: clocks of CPUs may differ */
		smp_rmb();
		again = false;
		for_each_possible_cpu(cpu) {
			if (test_bit(cpu, c->peeked) ||
			    !synfin_cursor_may_precede(c, cpu, t, &mark))
				continue;
			if (mark != SYNFIN_WRITING_NONE) {
				if (cpu == c->stalled_cpu && mark == c->stalled_mark)
					continue;	/* given up on already */
				if (!can_wait)
					return false;
				if (!wait_start) {
					wait_start = ktime_get_ns();
				} else if (ktime_get_ns() - wait_start > SYNFIN_WRITER_WAIT_NS) {
					c->stalled_cpu = cpu;
					c->stalled_mark = mark;
					continue;
				}
				cpu_relax();
				cond_resched();
			}
			again = true;
			break;
		}
	} while (again);

	*out = c->peek[best];
	__clear_bit(best, c->peeked);
	c->delivered++;
	return true;
}

bool synfin_cursor_ready(struct synfin_cursor *c)
{
	int cpu;

	if (c->lost_pending || !bitmap_empty(c->peeked, nr_cpu_ids))
		return true;
	for_each_possible_cpu(cpu)
		if (synfin_cursor_behind(c, cpu))
			return true;
	return false;
}

/*
 * Records ready for this reader now (lost ones not included). A reader of
 * one netns counts its own only, from the slots' tags (a record being
 * overwritten meanwhile may be miscounted: this is a gauge).
 */
u64 synfin_cursor_pending(struct synfin_cursor *c)
{
	u64 size = (u64)synfin_ring_mask + 1, n;
	int cpu;

	n = bitmap_weight(c->peeked, nr_cpu_ids);
	for_each_possible_cpu(cpu) {
		struct synfin_cpu_ring *r = per_cpu_ptr(synfin_rings, cpu);
		u64 head = smp_load_acquire(&r->head), pos;

		if (head <= c->pos[cpu])
			continue;
		pos = max(c->pos[cpu], head > size ? head - size : 0);
		if (!c->net_id) {
			n += head - pos;
			continue;
		}
		for (; pos < head; pos++) {
			n += READ_ONCE(r->slots[pos & synfin_ring_mask].net_id) == c->net_id;
			if (!(pos & 4095))
				cond_resched();
		}
	}
	return n;
}

void synfin_ring_account(u64 delivered)
{
	atomic64_add(delivered, &synfin_delivered);
}

void synfin_ring_stats(struct synfin_stats *st)
{
	int cpu;

	st->delivered = atomic64_read(&synfin_delivered);
	st->lost[SYNFIN_LOST_OVERRUN] = atomic64_read(&synfin_lost_overrun);
	st->lost_total = st->lost[SYNFIN_LOST_OVERRUN];
	st->ring_size = synfin_ring_mask + 1;
	st->nr_cpus = num_possible_cpus();
	st->recorded = 0;
	for_each_possible_cpu(cpu)
		st->recorded += smp_load_acquire(&per_cpu_ptr(synfin_rings, cpu)->head);
}
