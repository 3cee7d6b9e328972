"""The exit codes every subcommand keeps (README, "Exit codes"), and the errors that
choose them. main() prints one line for each: `flapwatch: error: ...`."""

EXIT_OK = 0
EXIT_MATCH = 1  # --fail-on matched
EXIT_USAGE = 2  # bad options or configuration (argparse's own code too)
EXIT_CAPTURE = 3  # a capture could not be read
EXIT_START = 4  # the agent could not start: an interface, a privilege, an address
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE): one line, --debug shows the traceback
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_PIPE = 141  # stdout closed under us (| head): quietly, as 128 + SIGPIPE, like other tools


class UsageError(Exception):
    """Options that cannot be used together or do not match anything: exit 2."""


class StartError(Exception):
    """The agent cannot start here; the message ends with a hint: exit 4."""
