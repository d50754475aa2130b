/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interfaces between synfin's parts. Data flows one way:
 *   hook_*.c --(struct sock)--> record.c --(struct synfin_event)--> ring.c
 *   ring.c <--(cursor)-- chardev.c <-- read()/poll()/ioctl()
 * The ring and the device know nothing about TCP; hooks know nothing about
 * readers.
 */
#ifndef _SYNFIN_H
#define _SYNFIN_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <uapi/synfin.h>

struct sock;

/* main.c: module parameters */
extern unsigned int synfin_ring_size;

/* ring.c: per-CPU rings, written by producers in any context */
int synfin_ring_init(unsigned int records_per_cpu);
void synfin_ring_exit(void);
void synfin_ring_write(const struct synfin_event *ev);

/*
 * A reader's position: one cursor per CPU ring, plus the record peeked at
 * from each ring, so records can be merged in timestamp order.
 */
struct synfin_cursor {
	u64 *pos;			/* [nr_cpu_ids] next sequence to read */
	struct synfin_event *peek;	/* [nr_cpu_ids] */
	unsigned long *peeked;		/* bitmap: peek[cpu] is valid */
	u64 lost_pending;		/* lost, not yet reported in-stream */
	u64 lost;			/* total lost by this reader */
	u64 delivered;			/* total records handed out */
};

int synfin_cursor_init(struct synfin_cursor *c);
void synfin_cursor_destroy(struct synfin_cursor *c);
void synfin_cursor_rewind(struct synfin_cursor *c);
bool synfin_cursor_next(struct synfin_cursor *c, struct synfin_event *out);
bool synfin_cursor_ready(struct synfin_cursor *c);
u64 synfin_cursor_pending(struct synfin_cursor *c);
void synfin_ring_arm_wakeup(void);
struct wait_queue_head *synfin_ring_waitqueue(void);
void synfin_ring_stats(struct synfin_stats *st);
void synfin_ring_account(u64 delivered, u64 lost);

/* record.c: struct sock -> struct synfin_event */
void synfin_record_state(const struct sock *sk, int oldstate, int newstate);
void synfin_record_stats(struct synfin_stats *st);

/* hook_tracepoint.c */
int synfin_hook_tracepoint_register(void);
void synfin_hook_tracepoint_unregister(void);

/* chardev.c */
int synfin_chardev_register(void);
void synfin_chardev_unregister(void);
u32 synfin_chardev_readers(void);

/* main.c */
u32 synfin_hook_in_use(void);

#endif /* _SYNFIN_H */
