# SPDX-License-Identifier: GPL-2.0
# synfin: kernel module (module/), viewer (userspace/), VM lab (scripts/).
#
#   make            module + viewer for the running kernel (KDIR to override)
#   make lab        build, boot the lab VM, load the module, show live events
#   make check      host tests + VM tests (see tests/run)
#   make check-matrix  the VM suite on every kernel x hook mode (see scripts/check-matrix)

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD  := $(shell pwd)

.PHONY: all module viewer tools check check-host check-vm check-matrix lab bench-tw install uninstall clean

all: module viewer

module:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

viewer:
	$(MAKE) -C userspace

tools:
	$(MAKE) -C tests/tools

# Kernels besides 6.1 that CI smoke-tests (load, tail, count, unload).
SMOKE_KERNELS ?= 5.10 6.12 6.12-rt

# The host part needs no kernel; the VM part boots Debian's kernel in QEMU:
# the full suite on 6.1 in both hook modes, then the smoke test on the rest.
check: viewer tools
	tests/run --smoke "$(SMOKE_KERNELS)"

check-host: viewer tools
	tests/run --host-only

check-vm: viewer tools
	tests/run --vm-only

# The full VM suite on 5.10, 6.1, 6.12, 6.12-rt x tracepoint, kprobe (~1 h).
check-matrix: viewer tools
	scripts/check-matrix --readme

lab: viewer tools
	scripts/lab demo

# TIME_WAIT count read time vs ss and sockstat, 100 to 100k sockets (VM)
bench-tw: viewer tools
	scripts/bench-tw

# The viewer and its man page. The module: see README (make module, insmod).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

install: viewer
	install -D -m 0755 userspace/synfin $(DESTDIR)$(BINDIR)/synfin
	install -D -m 0644 docs/synfin.1 $(DESTDIR)$(MANDIR)/man1/synfin.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/synfin $(DESTDIR)$(MANDIR)/man1/synfin.1

clean:
	-$(MAKE) -C $(KDIR) M=$(PWD) clean 2>/dev/null
	$(MAKE) -C userspace clean
	$(MAKE) -C tests/tools clean
