#!/bin/bash
# The exact-sequence test over IPv6 (::1).
exec bash tests/vm/transitions.sh -6
