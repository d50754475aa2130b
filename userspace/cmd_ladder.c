// SPDX-License-Identifier: GPL-2.0
#include "viewer.h"

int cmd_ladder(const struct options *opt)
{
	(void)opt;
	report_error("ladder: not built yet");
	return EXIT_RUNTIME;
}
