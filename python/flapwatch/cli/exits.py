"""The exit codes every subcommand keeps (README, "Exit codes")."""

EXIT_OK = 0
EXIT_MATCH = 1  # --fail-on matched
EXIT_USAGE = 2  # bad options or configuration
EXIT_CAPTURE = 3  # a capture could not be read
EXIT_INTERRUPTED = 130
