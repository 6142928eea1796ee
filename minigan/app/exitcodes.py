"""The exit codes of every ``minigan`` command, in one place.

``minigan --help`` prints ``table()``; the README's "Exit codes" table is the same rows
(``tests/test_exitcodes.py`` checks that they agree); every subcommand returns these names.
"""

from __future__ import annotations

import textwrap

OK = 0
FAILED = 1
USAGE = 2
WRITE_ERROR = 3
INTERRUPTED = 130
TERMINATED = 143  # 128 + SIGTERM (15): `train` saves a checkpoint as for Ctrl-C, then exits with it
BROKEN_PIPE = 141  # 128 + SIGPIPE (13): the output's reader stopped reading (`minigan ... | head`)

# code -> what it means, in the order of the README's table
EXIT_CODES: dict[int, str] = {
    OK: "done",
    FAILED: "failed: training diverged (`train`: the message names the step and the quantity) "
    "or a gradient check failed (`gradcheck`) or a run of a sweep failed (`sweep`: results.csv says "
    "which and why)",
    USAGE: "bad usage: a bad option, a bad data file, a missing or unreadable checkpoint, "
    "an output folder that holds another run or is in use by another `minigan train`, a bad sweep "
    "spec",
    WRITE_ERROR: "a file could not be written (disk full, no permission, a file-size limit: "
    "the message names it; what was written before, the last checkpoint among them, is intact)",
    INTERRUPTED: "interrupted (Ctrl-C; `train` saves a checkpoint to resume from; `sweep` resumes when "
    "run again)",
    TERMINATED: "terminated (SIGTERM, e.g. `kill` or a job scheduler's time limit; `train` saves a "
    "checkpoint to resume from, as for Ctrl-C)",
    BROKEN_PIPE: "the output's reader stopped reading (output piped into `head`): the command ends quietly",
}


def table(width: int = 100) -> str:
    """The codes as plain text for ``--help``: one code a paragraph, wrapped at ``width``."""
    return "exit codes:\n" + "\n".join(
        textwrap.fill(text.replace("`", ""), width, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7)
        for code, text in EXIT_CODES.items()
    )
