/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * synfin user-space ABI: the only contract between synfin.ko and its readers.
 *
 * /dev/synfin yields a stream of fixed-size struct synfin_event records.
 * Every record carries its ABI version; a change to this layout bumps
 * SYNFIN_ABI_VERSION, and the viewer refuses records of another version.
 */
#ifndef _UAPI_SYNFIN_H
#define _UAPI_SYNFIN_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define SYNFIN_ABI_VERSION	1
#define SYNFIN_DEVICE		"/dev/synfin"

/* struct synfin_event.kind */
enum synfin_kind {
	SYNFIN_EV_STATE    = 1,	/* a tcp_set_state() transition */
	SYNFIN_EV_LOST     = 2,	/* this reader lost .lost events (overrun) */
	SYNFIN_EV_TW_ENTER = 3,	/* connection handed to a timewait sock */
	SYNFIN_EV_TW_EXIT  = 4,	/* timewait sock gone */
};

/* Kernel TCP state numbers (include/net/tcp_states.h), stable ABI. */
enum synfin_tcp_state {
	SYNFIN_TCP_ESTABLISHED  = 1,
	SYNFIN_TCP_SYN_SENT     = 2,
	SYNFIN_TCP_SYN_RECV     = 3,
	SYNFIN_TCP_FIN_WAIT1    = 4,
	SYNFIN_TCP_FIN_WAIT2    = 5,
	SYNFIN_TCP_TIME_WAIT    = 6,
	SYNFIN_TCP_CLOSE        = 7,
	SYNFIN_TCP_CLOSE_WAIT   = 8,
	SYNFIN_TCP_LAST_ACK     = 9,
	SYNFIN_TCP_LISTEN       = 10,
	SYNFIN_TCP_CLOSING      = 11,
	SYNFIN_TCP_NEW_SYN_RECV = 12,
	SYNFIN_TCP_MAX_STATES   = 13,
};

/* struct synfin_event.family: the socket's address family (AF_INET/AF_INET6) */
#define SYNFIN_AF_INET		2
#define SYNFIN_AF_INET6		10

/*
 * One event, 128 bytes, naturally aligned, no implicit padding.
 *
 * Addresses: IPv4 in the first 4 bytes (network order), rest zero; IPv6 all
 * 16 bytes. An AF_INET6 socket talking IPv4 carries v4-mapped addresses.
 * Ports are in host byte order. ts_ns is CLOCK_MONOTONIC; SYNFIN_IOC_CLOCK
 * gives the pair needed to convert it to wall-clock time.
 * cookie is the socket cookie (the value `ss -e` prints as "sk:"): synfin
 * assigns one if the socket has none yet; those have bit 52 set (all
 * cookies stay below 2^53, exact as JSON numbers).
 * pid/tgid/comm: the owning process where known, else 0 and "".
 * held_us: records are stamped as they enter the ring, so every reader
 * merges them in the same order; a passive open's LISTEN->SYN_RECV is held
 * until the child's tuple is complete (its next event), and held_us says
 * how long: the transition happened at ts_ns - held_us * 1000. 0 otherwise.
 */
struct synfin_event {
	__u16 abi;		/* SYNFIN_ABI_VERSION */
	__u8  kind;		/* enum synfin_kind */
	__u8  family;		/* SYNFIN_AF_INET / SYNFIN_AF_INET6 */
	__u8  oldstate;		/* enum synfin_tcp_state */
	__u8  newstate;
	__u8  flags;		/* SYNFIN_F_* */
	__u8  __pad0;
	__u32 cpu;		/* CPU the event was recorded on */
	__u32 netns;		/* network namespace inode number */
	__u64 ts_ns;		/* CLOCK_MONOTONIC, ns */
	__u64 cookie;		/* socket cookie; never a kernel pointer */
	__u32 pid;		/* thread id of the owner, 0 if unknown */
	__u32 tgid;		/* process id of the owner, 0 if unknown */
	__u16 sport;		/* local port, host order */
	__u16 dport;		/* remote port, host order */
	__u32 held_us;		/* held back this long before ts_ns (below) */
	__u8  saddr[16];	/* local address */
	__u8  daddr[16];	/* remote address */
	char  comm[16];		/* owner's comm, NUL-padded */
	__u64 lost;		/* SYNFIN_EV_LOST: events this reader lost */
	__u64 tw_duration_ns;	/* SYNFIN_EV_TW_EXIT: time spent in timewait */
	__u32 tw_count;		/* SYNFIN_EV_TW_*: netns timewait count after it */
	__u32 tw_timeout_ms;	/* SYNFIN_EV_TW_ENTER: timeout the kernel armed */
	__u8  tw_substate;	/* SYNFIN_EV_TW_*: TIME_WAIT or FIN_WAIT2 */
	__u8  tw_reason;	/* SYNFIN_EV_TW_EXIT: enum synfin_tw_reason */
	__u8  __pad2[6];
};

#define SYNFIN_EVENT_SIZE	128

/* struct synfin_event.flags */
/* Recorded in softirq, or in a task with bottom halves off (tun writers,
 * busy poll): not the owner's own act. */
#define SYNFIN_F_SOFTIRQ	0x01
/* The full socket closes because a timewait sock took the connection over
 * (the CLOSE right after a SYNFIN_EV_TW_ENTER of the same cookie). */
#define SYNFIN_F_TW_HANDOFF	0x02
/* A passive-open child's LISTEN->SYN_RECV whose remote end was not known
 * yet: the tuple is the listener's (remote port 0). Normally synfin holds
 * the event back until the child's tuple is complete. */
#define SYNFIN_F_LISTENER_TUPLE	0x04
/* A transition inside the timewait sock (FIN_WAIT2 -> TIME_WAIT substate). */
#define SYNFIN_F_TIMEWAIT	0x08
/* SYNFIN_EV_TW_EXIT: the entry time is unknown (the sock was already in
 * timewait when synfin loaded), so tw_duration_ns is 0. */
#define SYNFIN_F_TW_NO_ENTRY	0x10

/* Why a timewait sock went away (struct synfin_event.tw_reason). */
enum synfin_tw_reason {
	SYNFIN_TW_UNKNOWN   = 0,	/* a path synfin cannot tell apart */
	SYNFIN_TW_EXPIRED   = 1,	/* its timer fired (2MSL, or FIN_WAIT2 timeout) */
	SYNFIN_TW_RECYCLED  = 2,	/* a new SYN from the peer reopened the tuple */
	SYNFIN_TW_RST       = 3,	/* killed by an RST from the peer */
	SYNFIN_TW_REUSED    = 4,	/* taken by a new outgoing connect (tcp_tw_reuse) */
	SYNFIN_TW_NETNS     = 5,	/* purged with its network namespace */
	SYNFIN_TW_SEGMENT   = 6,	/* an unacceptable segment; answered with RST */
	SYNFIN_TW_DESTROYED = 7,	/* SOCK_DESTROY (ss -K) */
	SYNFIN_TW_REASONS   = 8,
};

/* Why a reader lost events (index into synfin_stats.lost[]). */
enum synfin_lost_reason {
	SYNFIN_LOST_OVERRUN = 0,	/* reader fell a full ring behind */
	SYNFIN_LOST_REASONS = 4,	/* room for more reasons, ABI-stable */
};

/* Module-wide statistics, summed over CPUs and readers. */
struct synfin_stats {
	__u64 seen;		/* hook invocations (all protocols) */
	__u64 recorded;		/* events written to the ring */
	__u64 filtered;		/* invocations dropped as not TCP */
	__u64 delivered;	/* records copied to readers (sum over readers) */
	__u64 lost_total;	/* sum of lost[] */
	__u64 lost[SYNFIN_LOST_REASONS];
	__u32 readers;		/* open files */
	__u32 ring_size;	/* records per CPU */
	__u32 nr_cpus;		/* per-CPU rings */
	__u32 hook;		/* enum synfin_hook in use */
	__u64 tw_untracked;	/* timewait socks not counted: no node free */
	__u64 owner_dropped;	/* owners not cached: no node free */
	__u64 hook_missed;	/* probe hits the kernel skipped (kprobe nmissed) */
	__u64 mem_bytes;	/* memory held now: rings, node pools, open files */
};

/* TIME_WAIT counts of one network namespace. */
struct synfin_tw_counts {
	__u32 netns;		/* inode number */
	__u32 total;		/* timewait socks, both substates (sockstat's tw) */
	__u32 time_wait;	/* substate TIME_WAIT (what `ss state time-wait` lists) */
	__u32 fin_wait2;	/* substate FIN_WAIT2 (orphans handed to timewait) */
	__u32 lport_overflow;	/* socks counted in no per-port entry (table full) */
	__u32 rport_overflow;
	__u32 peer_overflow;
	__u32 __pad;
};

/* One row of a top list: a port (lport/rport) or a peer address. */
struct synfin_tw_key {
	__u32 count;
	__u16 port;		/* host order; 0 for peers */
	__u8  family;		/* SYNFIN_AF_INET(6) for peers; 0 for ports */
	__u8  __pad;
	__u8  addr[16];		/* peer address, as in struct synfin_event */
};

/*
 * SYNFIN_IOC_TW_QUERY: counts of one netns and its busiest ports and peers,
 * read from live counters (no walk of the socket hash).
 */
struct synfin_tw_query {
	__u32 netns;		/* in: 0 = the file's own (its opener's) netns */
	__u32 max_keys;		/* in: room in each array below (0: counts only) */
	__u64 lports;		/* in: user pointer, struct synfin_tw_key[max_keys] */
	__u64 rports;		/* in: ditto, remote ports */
	__u64 peers;		/* in: ditto, remote addresses */
	__u32 n_lports;		/* out: rows written, busiest first */
	__u32 n_rports;
	__u32 n_peers;
	__u32 __pad;
	struct synfin_tw_counts counts;	/* out */
};

/* SYNFIN_IOC_TW_NETNS: the counts of every netns that has timewait socks. */
struct synfin_tw_netns_list {
	__u32 max;		/* in: room in .counts */
	__u32 n;		/* out: rows written */
	__u64 counts;		/* in: user pointer, struct synfin_tw_counts[max] */
};

/* Per-open-file statistics. */
struct synfin_reader_stats {
	__u64 delivered;	/* records read by this file */
	__u64 lost;		/* events this file lost */
	__u64 pending;		/* records ready now, before this file's filter */
	__u64 filtered;		/* records this file's filter dropped */
	__u64 __reserved[4];
};

/*
 * SYNFIN_IOC_SET_FILTER: this open file delivers only the records that
 * match every field named in .match (lost markers always pass). A reader
 * whose filter drops a record is not woken for it. match == 0 clears.
 * Unknown .match bits, non-zero reserved fields, a prefix longer than the
 * family's address or an unterminated comm: EINVAL.
 */
#define SYNFIN_FILTER_FAMILY	0x001	/* .family (-4, -6) */
#define SYNFIN_FILTER_TGID	0x002	/* .tgid: owner's process id (-p) */
#define SYNFIN_FILTER_COMM	0x004	/* .comm: owner's comm, exact (--comm) */
#define SYNFIN_FILTER_LPORT	0x008	/* .lport: local port (-L) */
#define SYNFIN_FILTER_RPORT	0x010	/* .rport: remote port (-D) */
#define SYNFIN_FILTER_ADDR	0x020	/* .addr/.addr_prefix, either end (--addr) */
#define SYNFIN_FILTER_STATES	0x040	/* .states: old or new state in the set */
#define SYNFIN_FILTER_NETNS	0x080	/* .netns: namespace inode (--netns) */
#define SYNFIN_FILTER_PORT	0x100	/* .port: either end's port (both ends
					 * of a connection: ladder, life) */
#define SYNFIN_FILTER_ALL	0x1ff

struct synfin_filter {
	__u32 match;		/* SYNFIN_FILTER_* */
	__u32 tgid;
	__u32 netns;
	__u32 states;		/* bit (1 << state) per enum synfin_tcp_state */
	__u16 lport;		/* host order */
	__u16 rport;
	__u8  family;		/* SYNFIN_AF_INET / SYNFIN_AF_INET6 */
	__u8  addr_family;	/* family of .addr */
	__u8  addr_prefix;	/* bits of .addr that must match */
	__u8  __pad;
	__u8  addr[16];		/* as in struct synfin_event; IPv4 also
				 * matches v4-mapped IPv6 addresses */
	char  comm[16];		/* NUL-terminated */
	__u16 port;		/* SYNFIN_FILTER_PORT, host order */
	__u16 __pad2[3];
	__u64 __reserved[1];
};

/*
 * SYNFIN_IOC_HEALTH: how synfin's own tables stand against the kernel's
 * truth, module-wide (so, like SYNFIN_IOC_STATS, for the all-namespaces
 * view only). Every counter counts since load; all are expected to stay 0
 * but owner_entries and tw_reconciles.
 */
struct synfin_health {
	__u64 owner_entries;	/* owners cached now */
	__u64 owner_evicted;	/* cached owners swept out unused (owner_idle_s) */
	__u64 tw_stale;		/* timewait entries whose exit was missed, found
				 * when their memory came back as a new sock */
	__u64 tw_drift;		/* timewait socks by which a netns's count
				 * differed from the kernel's, corrected */
	__u64 tw_reconciles;	/* reconcile passes against the kernel's counts */
	__u64 __reserved[11];
};

/*
 * SYNFIN_IOC_TRANSITIONS: state-change counts since load, by old and new
 * state ([old][new], enum synfin_tcp_state), for every recorded TCP
 * transition (SYNFIN_EV_STATE records, before any reader or filter), and
 * timewait entries and exits.
 */
struct synfin_transitions {
	__u64 count[SYNFIN_TCP_MAX_STATES][SYNFIN_TCP_MAX_STATES];
	__u64 tw_enter;
	__u64 tw_exit[SYNFIN_TW_REASONS];	/* by enum synfin_tw_reason */
	__u64 __reserved[7];
};

/* For converting ts_ns: both clocks read at (nearly) the same instant. */
struct synfin_clock {
	__u64 mono_ns;		/* CLOCK_MONOTONIC */
	__u64 real_ns;		/* CLOCK_REALTIME */
};

enum synfin_hook {
	SYNFIN_HOOK_NONE       = 0,
	SYNFIN_HOOK_TRACEPOINT = 1,
	SYNFIN_HOOK_KPROBE     = 2,
};

/*
 * A file opened without CAP_NET_ADMIN (in the initial user namespace) is
 * held to the opener's network namespace: it reads only that namespace's
 * records, TW_QUERY of another namespace and the module-wide STATS and
 * TRANSITIONS answer EPERM, and TW_NETNS lists only its own.
 */
#define SYNFIN_IOC_MAGIC	0xF5

/* Returns SYNFIN_ABI_VERSION as the ioctl's return value. */
#define SYNFIN_IOC_ABI_VERSION	_IO(SYNFIN_IOC_MAGIC, 0x01)
#define SYNFIN_IOC_STATS	_IOR(SYNFIN_IOC_MAGIC, 0x02, struct synfin_stats)
#define SYNFIN_IOC_READER_STATS	_IOR(SYNFIN_IOC_MAGIC, 0x03, struct synfin_reader_stats)
#define SYNFIN_IOC_CLOCK	_IOR(SYNFIN_IOC_MAGIC, 0x04, struct synfin_clock)
/* Move this file's cursor back to the oldest record still in the ring. */
#define SYNFIN_IOC_REWIND	_IO(SYNFIN_IOC_MAGIC, 0x05)
#define SYNFIN_IOC_TW_QUERY	_IOWR(SYNFIN_IOC_MAGIC, 0x06, struct synfin_tw_query)
#define SYNFIN_IOC_TW_NETNS	_IOWR(SYNFIN_IOC_MAGIC, 0x07, struct synfin_tw_netns_list)
#define SYNFIN_IOC_SET_FILTER	_IOW(SYNFIN_IOC_MAGIC, 0x08, struct synfin_filter)
#define SYNFIN_IOC_TRANSITIONS	_IOR(SYNFIN_IOC_MAGIC, 0x09, struct synfin_transitions)
#define SYNFIN_IOC_HEALTH	_IOR(SYNFIN_IOC_MAGIC, 0x0a, struct synfin_health)

/*
 * Capture files (`synfin -w`): this header, then whole records.
 * All fields little-endian as written by the machine that captured.
 */
#define SYNFIN_CAPTURE_MAGIC	"SYNFINCAP\0\0\0"	/* 12 bytes used */

struct synfin_capture_header {
	char  magic[12];
	__u16 abi;		/* SYNFIN_ABI_VERSION of the records */
	__u16 record_size;	/* SYNFIN_EVENT_SIZE */
	__u64 mono_ns;		/* struct synfin_clock at capture start */
	__u64 real_ns;
	__u8  __reserved[32];
};

#define SYNFIN_CAPTURE_HEADER_SIZE	64

#endif /* _UAPI_SYNFIN_H */
