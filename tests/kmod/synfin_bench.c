// SPDX-License-Identifier: GPL-2.0
/*
 * synfin_bench: test-only driver of the producer path (scripts/bench and the
 * burst test), never for production machines.
 *
 * Writing N to /sys/module/synfin_bench/parameters/run moves one unconnected
 * kernel TCP socket between FIN_WAIT1 and FIN_WAIT2 N times through
 * tcp_set_state() (inet_sk_set_state() from 7.2, where tcp_set_state() is
 * no longer exported), the kernel's own path: the sock:inet_sock_set_state
 * tracepoint fires each time, with whatever is attached to it (synfin's
 * probe or its kprobes on inet_sk_state_store/inet_sk_set_state, the ftrace
 * event, a BPF program), so
 * every tracer is timed the same way in the same boot. Nothing attached is
 * the baseline. Reading "result" gives the last run:
 *	n=N ns=TOTAL ns_per_event=X.XX
 * Batches of 1024 run with BH off, like the softirq most transitions run in.
 * From 7.2 the path is shorter (no tcp_set_state() bookkeeping): compare
 * tracers within one kernel, not ns/event across that boundary.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/sched/signal.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>

#define SYNFIN_BENCH_BATCH	1024
#define SYNFIN_BENCH_MAX	100000000U

static DEFINE_MUTEX(synfin_bench_lock);
static u32 synfin_bench_last_n;
static u64 synfin_bench_last_ns;

static int synfin_bench_fire(u32 n, u64 *total_ns)
{
	struct socket *sock;
	struct sock *sk;
	u32 done = 0;
	int err;

	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (err)
		return err;
	sk = sock->sk;
	*total_ns = 0;
	lock_sock(sk);
	while (done < n) {
		u32 batch = min_t(u32, n - done, SYNFIN_BENCH_BATCH), i;
		u64 start;

		local_bh_disable();
		start = ktime_get_ns();
		for (i = 0; i < batch; i++)
			synfin_compat_set_state(sk, ((done + i) & 1) ?
						TCP_FIN_WAIT2 : TCP_FIN_WAIT1);
		*total_ns += ktime_get_ns() - start;
		local_bh_enable();
		done += batch;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	/* Unbound and unhashed: CLOSE only records the transition. */
	synfin_compat_set_state(sk, TCP_CLOSE);
	release_sock(sk);
	sock_release(sock);
	return err;
}

static int synfin_bench_run_set(const char *val, const struct kernel_param *kp)
{
	u64 ns;
	u32 n;
	int err;

	err = kstrtou32(val, 0, &n);
	if (err)
		return err;
	if (!n || n > SYNFIN_BENCH_MAX)
		return -EINVAL;
	mutex_lock(&synfin_bench_lock);
	err = synfin_bench_fire(n, &ns);
	if (!err) {
		synfin_bench_last_n = n;
		synfin_bench_last_ns = ns;
	}
	mutex_unlock(&synfin_bench_lock);
	return err;
}

static const struct kernel_param_ops synfin_bench_run_ops = {
	.set = synfin_bench_run_set,
};
module_param_cb(run, &synfin_bench_run_ops, NULL, 0200);
MODULE_PARM_DESC(run, "write N (1..100000000): fire N transitions through tcp_set_state()");

static int synfin_bench_result_get(char *buf, const struct kernel_param *kp)
{
	u64 n, ns, per100;

	mutex_lock(&synfin_bench_lock);
	n = synfin_bench_last_n;
	ns = synfin_bench_last_ns;
	mutex_unlock(&synfin_bench_lock);
	per100 = n ? div64_u64(ns * 100, n) : 0;
	return sysfs_emit(buf, "n=%llu ns=%llu ns_per_event=%llu.%02llu\n",
			  n, ns, per100 / 100, per100 % 100);
}

static const struct kernel_param_ops synfin_bench_result_ops = {
	.get = synfin_bench_result_get,
};
module_param_cb(result, &synfin_bench_result_ops, NULL, 0444);
MODULE_PARM_DESC(result, "the last run: n, total ns, ns per transition");

MODULE_LICENSE("GPL");	/* tcp_set_state() is EXPORT_SYMBOL_GPL */
MODULE_DESCRIPTION("synfin test-only producer benchmark: fires TCP state transitions");
