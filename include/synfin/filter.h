/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Does a record pass a struct synfin_filter? One definition for both
 * halves: the module filters each open file's stream with it, the viewer
 * filters capture files (-r) with it. Plain C, no library calls.
 */
#ifndef _SYNFIN_FILTER_H
#define _SYNFIN_FILTER_H

#include <uapi/synfin.h>

/* The first @bits bits of @a and @b are equal. */
static inline int synfin_prefix_eq(const __u8 *a, const __u8 *b, unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < bits / 8; i++)
		if (a[i] != b[i])
			return 0;
	if (bits % 8) {
		__u8 mask = (__u8)(0xff << (8 - bits % 8));

		if ((a[i] ^ b[i]) & mask)
			return 0;
	}
	return 1;
}

/* An address of the record's family against the filter's address. */
static inline int synfin_filter_addr_eq(const struct synfin_filter *f,
					const struct synfin_event *ev,
					const __u8 *addr)
{
	static const __u8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (ev->family == f->addr_family)
		return synfin_prefix_eq(addr, f->addr, f->addr_prefix);
	/* An IPv4 filter also matches an AF_INET6 socket talking IPv4. */
	if (f->addr_family == SYNFIN_AF_INET && ev->family == SYNFIN_AF_INET6 &&
	    synfin_prefix_eq(addr, v4mapped, 96))
		return synfin_prefix_eq(addr + 12, f->addr, f->addr_prefix);
	return 0;
}

/* A state's bit in a filter's state set; 0 for a number past the table
 * (a crafted capture), which a shift by it would make undefined. */
static inline unsigned int synfin_state_bit(unsigned int state)
{
	return state < SYNFIN_TCP_MAX_STATES ? 1u << state : 0;
}

static inline int synfin_list_has16(const __u16 *list, unsigned int n, __u16 v)
{
	unsigned int i;

	for (i = 0; i < n && i < SYNFIN_FILTER_LIST; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

static inline int synfin_list_has32(const __u32 *list, unsigned int n, __u32 v)
{
	unsigned int i;

	for (i = 0; i < n && i < SYNFIN_FILTER_LIST; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

static inline int synfin_filter_match(const struct synfin_filter *f,
				      const struct synfin_event *ev)
{
	unsigned int m = f->match, i;

	if (!m || ev->kind == SYNFIN_EV_LOST)
		return 1;
	if ((m & SYNFIN_FILTER_FAMILY) && ev->family != f->family)
		return 0;
	if ((m & SYNFIN_FILTER_TGID) && !synfin_list_has32(f->tgids, f->n_tgids, ev->tgid))
		return 0;
	if ((m & SYNFIN_FILTER_NETNS) && ev->netns != f->netns)
		return 0;
	if ((m & SYNFIN_FILTER_LPORT) && !synfin_list_has16(f->lports, f->n_lports, ev->sport))
		return 0;
	if ((m & SYNFIN_FILTER_RPORT) && !synfin_list_has16(f->rports, f->n_rports, ev->dport))
		return 0;
	if ((m & SYNFIN_FILTER_PORT) && !synfin_list_has16(f->ports, f->n_ports, ev->sport) &&
	    !synfin_list_has16(f->ports, f->n_ports, ev->dport))
		return 0;
	if ((m & (SYNFIN_FILTER_UID | SYNFIN_FILTER_CGROUP)) && !(ev->have & SYNFIN_HAVE_SOCK))
		return 0;
	if ((m & SYNFIN_FILTER_UID) && ev->uid != f->uid)
		return 0;
	if ((m & SYNFIN_FILTER_CGROUP) && ev->cgroup_id != f->cgroup_id)
		return 0;
	if ((m & SYNFIN_FILTER_STATES) &&
	    !(f->states & (synfin_state_bit(ev->oldstate) | synfin_state_bit(ev->newstate))))
		return 0;
	if ((m & SYNFIN_FILTER_ADDR) &&
	    !synfin_filter_addr_eq(f, ev, ev->saddr) &&
	    !synfin_filter_addr_eq(f, ev, ev->daddr))
		return 0;
	if (m & SYNFIN_FILTER_COMM) {
		for (i = 0; i < sizeof(f->comm); i++) {
			if (f->comm[i] != ev->comm[i])
				return 0;
			if (!f->comm[i])
				break;
		}
	}
	return 1;
}

/* A list named in .match holds 1 to SYNFIN_FILTER_LIST values. */
static inline int synfin_list_bad(unsigned int match, unsigned int bit, unsigned int n)
{
	return (match & bit) && (!n || n > SYNFIN_FILTER_LIST);
}

/* 0 if the filter is well formed, else -1 (the module answers EINVAL). */
static inline int synfin_filter_check(const struct synfin_filter *f)
{
	unsigned int i, max;

	if ((f->match & ~SYNFIN_FILTER_ALL) || f->__pad || f->__reserved[0] ||
	    f->__reserved[1])
		return -1;
	if (synfin_list_bad(f->match, SYNFIN_FILTER_TGID, f->n_tgids) ||
	    synfin_list_bad(f->match, SYNFIN_FILTER_LPORT, f->n_lports) ||
	    synfin_list_bad(f->match, SYNFIN_FILTER_RPORT, f->n_rports) ||
	    synfin_list_bad(f->match, SYNFIN_FILTER_PORT, f->n_ports))
		return -1;
	if ((f->match & SYNFIN_FILTER_FAMILY) &&
	    f->family != SYNFIN_AF_INET && f->family != SYNFIN_AF_INET6)
		return -1;
	if (f->match & SYNFIN_FILTER_ADDR) {
		if (f->addr_family == SYNFIN_AF_INET)
			max = 32;
		else if (f->addr_family == SYNFIN_AF_INET6)
			max = 128;
		else
			return -1;
		if (f->addr_prefix > max)
			return -1;
	}
	if ((f->match & SYNFIN_FILTER_STATES) &&
	    (!f->states || f->states >= (1u << SYNFIN_TCP_MAX_STATES)))
		return -1;
	if (f->match & SYNFIN_FILTER_COMM) {
		for (i = 0; i < sizeof(f->comm) && f->comm[i]; i++)
			;
		if (i == sizeof(f->comm))
			return -1;
	}
	return 0;
}

#endif /* _SYNFIN_FILTER_H */
