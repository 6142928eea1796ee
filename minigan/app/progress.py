"""The one progress display of the commands: a bar on stderr, and the lines printed around it.

``Progress(total)`` draws a tqdm bar of ``total`` units (steps of a run, runs of a sweep) when tqdm
is installed; without it, with ``plain=True``, a line every ~10 % of the way (``step 600/6000  L_D
1.386 ...  (4.2 s)``). ``write(line)`` prints a line without breaking the bar; ``quiet``: no bar
and no plain lines (``write`` still prints: warnings and results are not progress).
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any


class Progress:
    """A bar of ``total`` ``unit`` s from ``initial`` (tqdm), or plain lines every ~10 % of
    the way when tqdm is missing and ``plain``; nothing at all when ``quiet``."""

    def __init__(
        self,
        total: int,
        initial: int = 0,
        quiet: bool = False,
        unit: str = "step",
        desc: str | None = None,
        plain: bool = True,
    ) -> None:
        self.total, self.done, self.unit, self.quiet = total, initial, unit, quiet
        self.bar: Any = None
        self.plain = plain and not quiet
        self.every = max(1, total // 10)
        self.next_line = initial + self.every
        self.t0 = time.perf_counter()
        if quiet:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if self.plain:
                what = f"{desc} {unit}s" if desc else f"{unit}s"
                print(f"{what} {initial}..{total} (install tqdm for a progress bar)", file=sys.stderr)
            return
        self.bar = tqdm(
            total=total, initial=initial, unit=unit, dynamic_ncols=True, file=sys.stderr, desc=desc
        )

    def update(self, n: int, values: dict[str, float] | None = None) -> None:
        """``n`` more units done; ``values`` (name -> number) shown beside the bar or in the line."""
        self.done += n
        if self.bar is not None:
            if values:
                self.bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}, refresh=False)
            self.bar.update(n)
        elif self.plain and (self.done >= self.next_line or self.done == self.total):
            self.next_line = self.done + self.every
            txt = "".join(f"  {k} {v:.3f}" for k, v in (values or {}).items())
            print(
                f"{self.unit} {self.done}/{self.total}{txt}  ({time.perf_counter() - self.t0:.1f} s)",
                file=sys.stderr,
            )

    def write(self, line: str, file: IO[str] | None = None) -> None:
        """``line`` on ``file`` (default stderr) above the bar, the bar drawn again below it."""
        file = sys.stderr if file is None else file
        if self.bar is not None:
            self.bar.write(line, file=file)
        else:
            print(line, file=file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
