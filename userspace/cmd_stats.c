// SPDX-License-Identifier: GPL-2.0
/* `synfin stats`: placeholder, being written. */
#include "viewer.h"

int cmd_stats(const struct options *opt)
{
	(void)opt;
	report_error("stats: not built yet");
	return EXIT_RUNTIME;
}
