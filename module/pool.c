// SPDX-License-Identifier: GPL-2.0
/*
 * Fixed-size nodes for tables that hooks fill in any context.
 *
 * Hooks run in softirq or with interrupts off, and on PREEMPT_RT the slab
 * allocator may not be called there at all. So nodes come from a free list
 * that a work item refills in process context, in chunks, before it runs
 * dry. An empty list makes the caller count the miss; it never waits.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include "synfin.h"

struct synfin_pool_chunk {
	struct synfin_pool_chunk *next;
	/* nodes follow */
};

struct synfin_pool_node {
	struct synfin_pool_node *next;
};

static void synfin_pool_refill(struct work_struct *work)
{
	struct synfin_pool *p = container_of(work, struct synfin_pool, refill);

	while (READ_ONCE(p->free) < p->low && !synfin_pool_grow(p))
		cond_resched();
}

/*
 * Add one chunk. Process context. Growers (the refill work, the load-time
 * walk) are serialised, so two of them cannot both see room for a chunk
 * and together take the pool past max.
 */
int synfin_pool_grow(struct synfin_pool *p)
{
	struct synfin_pool_chunk *c;
	unsigned long flags;
	unsigned int n, i;
	char *nodes;

	mutex_lock(&p->grow_lock);
	n = min(p->chunk, p->max - p->total);
	if (!n) {
		mutex_unlock(&p->grow_lock);
		return -ENOSPC;
	}
	c = kvmalloc(sizeof(*c) + (size_t)n * p->node_size, GFP_KERNEL);
	if (!c) {
		mutex_unlock(&p->grow_lock);
		return -ENOMEM;
	}
	nodes = (char *)(c + 1);
	raw_spin_lock_irqsave(&p->lock, flags);
	c->next = p->chunks;
	p->chunks = c;
	for (i = 0; i < n; i++) {
		struct synfin_pool_node *node = (void *)(nodes + i * p->node_size);

		node->next = p->head;
		p->head = node;
	}
	p->free += n;
	p->total += n;
	p->bytes += sizeof(*c) + (size_t)n * p->node_size;
	raw_spin_unlock_irqrestore(&p->lock, flags);
	mutex_unlock(&p->grow_lock);
	synfin_mem_account(sizeof(*c) + (size_t)n * p->node_size);
	return 0;
}

int synfin_pool_init(struct synfin_pool *p, size_t node_size,
		     unsigned int initial, unsigned int max)
{
	memset(p, 0, sizeof(*p));
	raw_spin_lock_init(&p->lock);
	mutex_init(&p->grow_lock);
	INIT_WORK(&p->refill, synfin_pool_refill);
	p->node_size = max(node_size, sizeof(struct synfin_pool_node));
	p->max = max;
	p->chunk = clamp(initial / 4, 256U, 16384U);
	p->low = min(initial / 2, max);
	while (p->total < min(initial, max)) {
		int err = synfin_pool_grow(p);

		if (err) {
			synfin_pool_destroy(p);
			return err;
		}
	}
	return 0;
}

void synfin_pool_destroy(struct synfin_pool *p)
{
	cancel_work_sync(&p->refill);
	while (p->chunks) {
		struct synfin_pool_chunk *c = p->chunks;

		p->chunks = c->next;
		kvfree(c);
	}
	p->head = NULL;
	p->free = p->total = 0;
	synfin_mem_account(-(long)p->bytes);
	p->bytes = 0;
}

/* A zeroed node, or NULL when none is free. Any context. */
void *synfin_pool_get(struct synfin_pool *p)
{
	struct synfin_pool_node *node;
	unsigned long flags;
	bool refill;

	raw_spin_lock_irqsave(&p->lock, flags);
	node = p->head;
	if (node) {
		p->head = node->next;
		p->free--;
	} else {
		p->misses++;
	}
	refill = p->free < p->low && p->total < p->max;
	raw_spin_unlock_irqrestore(&p->lock, flags);
	if (refill)
		queue_work(system_unbound_wq, &p->refill);
	if (node)
		memset(node, 0, p->node_size);
	return node;
}

void synfin_pool_put(struct synfin_pool *p, void *ptr)
{
	struct synfin_pool_node *node = ptr;
	unsigned long flags;

	raw_spin_lock_irqsave(&p->lock, flags);
	node->next = p->head;
	p->head = node;
	p->free++;
	raw_spin_unlock_irqrestore(&p->lock, flags);
}
