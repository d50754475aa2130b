// SPDX-License-Identifier: GPL-2.0
/*
 * TIME_WAIT: entry and exit events, and exact live counts.
 *
 * A connection never passes through TIME_WAIT in tcp_set_state():
 * tcp_time_wait() builds an inet_timewait_sock (substate TIME_WAIT, or
 * FIN_WAIT2 for an orphan), hashes it in place of the full socket
 * (inet_twsk_hashdance), and the full socket goes to CLOSE. The timewait
 * sock leaves the hash in exactly one place, inet_twsk_kill(), called by
 * its timer or by inet_twsk_deschedule_put() for an early kill. So:
 *
 *   entry   kprobe inet_twsk_hashdance_schedule (6.12: timeout in its args) or
 *           inet_twsk_hashdance (older: its timer is armed by then)
 *   exit    kprobe inet_twsk_kill               (once per sock)
 *   reason  hints left on the way to the kill, keyed by the sock:
 *           tw_timer_handler -> expired; inet_twsk_deschedule_put -> from a
 *           segment hint (tcp_timewait_state_process: RST, SYN, other), a
 *           dead netns (purge), tcp_twsk_unique (reuse) or tcp_abort
 *           (SOCK_DESTROY). A kill with no hint in a dead netns is the
 *           purge (it inlines its deschedule); anything else is "unknown",
 *           never a guess.
 *   substate __inet_twsk_schedule(rearm): FIN_WAIT2 -> TIME_WAIT when a
 *           FIN reaches an orphan's timewait sock.
 *
 * Counts, hints, hooks, the load-time walk and the readers each have a file
 * of their own: timewait.h says which holds what. This one wires them up.
 */
#include "timewait.h"

int synfin_timewait_init(unsigned int max)
{
	int err;

	err = synfin_tw_table_init(max);
	if (err)
		return err;
	/* Left out (families=): the tables stay empty, the ioctls say so. */
	if (!synfin_family(SYNFIN_FAM_TIMEWAIT))
		return 0;
	err = synfin_tw_hooks_init();
	if (err)
		goto free_table;
	synfin_tw_reconcile_start();
	return 0;

free_table:
	synfin_tw_table_exit();
	return err;
}

void synfin_timewait_exit(void)
{
	if (synfin_family(SYNFIN_FAM_TIMEWAIT)) {
		synfin_tw_reconcile_stop();
		synfin_tw_hooks_exit();
	}
	synfin_tw_table_exit();
}
