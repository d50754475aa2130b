# SPDX-License-Identifier: GPL-2.0
# synfin: kernel module (module/), viewer (userspace/), VM lab (scripts/).
#
#   make            module + viewer for the running kernel (KDIR to override)
#   make lab        build, boot the lab VM, load the module, show live events
#   make check      host tests + VM tests (see tests/run)
#   make check-matrix  the VM suite on every kernel x hook mode (see scripts/check-matrix)

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD  := $(shell pwd)
# Kbuild works on module/ only: its clean deletes every *.ko below M, and
# .cache/lab holds whole kernels' modules.
MOD  := $(PWD)/module


.PHONY: all module viewer tools check check-host check-vm check-matrix check-stress check-debug check-fresh lab bench bench-tw install install-unit uninstall deb dkms dkms-remove clean

all: module viewer

module:
	$(MAKE) -C $(KDIR) M=$(MOD) modules

viewer:
	@[ -e /usr/include/microhttpd.h ] || \
		scripts/apt-need --why "the viewer: libmicrohttpd serves synfin metrics --listen" libmicrohttpd-dev
	$(MAKE) -C userspace

tools:
	$(MAKE) -C tests/tools

# Kernels besides 6.1 that CI smoke-tests (load, tail, count, unload).
SMOKE_KERNELS ?= 5.10 6.12 6.12-rt trixie 7.3

# The host part needs no kernel; the VM part boots Debian's kernel in QEMU:
# the full suite on 6.1 in both hook modes, then the smoke test on the rest.
check: viewer tools
	tests/run --smoke "$(SMOKE_KERNELS)"

# The README's set-up contract: a fresh Debian 12 root (mmdebstrap), a clone
# of this checkout's HEAD, `make lab` and `make check` in it as written
# (root; what CI runs, scripts/check-fresh).
check-fresh:
	scripts/check-fresh

check-host: viewer tools
	tests/run --host-only

check-vm: viewer tools
	tests/run --vm-only

# The full VM suite on 6.1, 5.10, 6.12, 6.12-rt, trixie, 7.3, 7.3-rt, sid
# x tracepoint, kprobe (~2 h).
check-matrix: viewer tools
	scripts/check-matrix --readme

# 1000 insmod/rmmod cycles with readers in every mode and churn, then the
# device fuzz with 100 000 operations per run (one VM boot).
check-stress: viewer tools
	tests/run --vm-only --hooks tracepoint stress device_fuzz \
		SYNFIN_STRESS_CYCLES=1000 SYNFIN_FUZZ_ITERATIONS=100000 SYNFIN_TEST_TIMEOUT=3600

# The whole VM suite, both hook modes, on a 6.1 kernel built from Debian's
# linux-source-6.1 with KASAN, UBSAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak
# and debugobjects (scripts/debug-kernel: built once, ~25 min on 2 cores).
# Any report in the guest's kernel log, or kmemleak after unload, fails it.
# The debug kernel runs ~4x slower under TCG: tw_scale makes 1000 sockets
# (20 000 took 273 s there, past the 60 s they live).
check-debug: viewer tools
	scripts/debug-kernel >/dev/null
	tests/run --vm-only --kernel debug --timeout 9000 \
		TW_SCALE_N=1000 SYNFIN_TEST_TIMEOUT=1500

lab: viewer tools
	scripts/lab demo

# Tracing overhead on connection churn: synfin (0, 1, 4 readers) vs ftrace
# vs bpftrace, ratios to untraced, one boot (writes docs/benchmarks.md)
bench: viewer tools
	scripts/bench

# TIME_WAIT count read time vs ss and sockstat, 100 to 100k sockets (VM)
bench-tw: viewer tools
	scripts/bench-tw

# sudo make install: the module for KDIR's kernel (modules_install, depmod),
# the viewer and its man page under PREFIX, the udev rule for /dev/synfin.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
UDEVDIR ?= /etc/udev/rules.d
# Where systemd looks for units an admin installs (packages use
# /lib/systemd/system; /etc/systemd/system is for local overrides).
UNITDIR ?= $(PREFIX)/lib/systemd/system
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

install: viewer
	@if [ -d $(KDIR) ]; then \
		$(MAKE) -C $(KDIR) M=$(MOD) modules && \
		$(MAKE) -C $(KDIR) M=$(MOD) INSTALL_MOD_PATH=$(DESTDIR) modules_install && \
		{ [ -n "$(DESTDIR)" ] || depmod -a $$($(MAKE) -s -C $(KDIR) kernelrelease); }; \
	else \
		echo "no kernel build tree at $(KDIR): module not installed (install linux-headers-\$$(uname -r), or KDIR=...)"; \
	fi
	install -D -m 0755 userspace/synfin $(DESTDIR)$(BINDIR)/synfin
	install -D -m 0644 docs/synfin.1 $(DESTDIR)$(MANDIR)/man1/synfin.1
	install -D -m 0644 dist/60-synfin.rules $(DESTDIR)$(UDEVDIR)/60-synfin.rules
	$(MAKE) install-unit

# The exporter's unit, its ExecStart pointing at where the viewer went.
install-unit:
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/bin/synfin|$(BINDIR)/synfin|g' dist/synfin-exporter.service \
		>$(DESTDIR)$(UNITDIR)/synfin-exporter.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/synfin-exporter.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/synfin $(DESTDIR)$(MANDIR)/man1/synfin.1 \
		$(DESTDIR)$(UDEVDIR)/60-synfin.rules $(DESTDIR)$(UNITDIR)/synfin-exporter.service
	rm -f $(DESTDIR)/lib/modules/*/extra/synfin.ko $(DESTDIR)/lib/modules/*/updates/dkms/synfin.ko
	[ -n "$(DESTDIR)" ] || depmod -a

# DKMS: the module's sources to /usr/src/synfin-VERSION, then add, build,
# install for the running kernel (DKMS rebuilds it for new kernels).
DKMS_SRC := $(DESTDIR)/usr/src/synfin-$(VERSION)

dkms:
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)
	cp -a Kbuild dkms.conf include module $(DKMS_SRC)/
	rm -f $(DKMS_SRC)/module/*.o $(DKMS_SRC)/module/*.ko $(DKMS_SRC)/module/.*.cmd
	dkms add -m synfin -v $(VERSION)
	dkms build -m synfin -v $(VERSION)
	dkms install -m synfin -v $(VERSION)

# Debian packages synfin and synfin-dkms, in .cache/deb (scripts/make-deb).
deb:
	scripts/make-deb

dkms-remove:
	dkms remove -m synfin -v $(VERSION) --all
	rm -rf $(DKMS_SRC)

clean:
	-$(MAKE) -C $(KDIR) M=$(MOD) clean 2>/dev/null
	$(MAKE) -C userspace clean
	$(MAKE) -C tests/tools clean
