"""Exit codes, as DESIGN.md fixes them."""

OK = 0  # done, or in sync
FAILED = 1  # an action or the connection failed
USAGE = 2  # bad usage or invalid manifest
DRIFT = 3  # drift found (drift, plan --exit-code)
INTERRUPTED = 130  # Ctrl-C
