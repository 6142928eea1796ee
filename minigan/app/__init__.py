"""The workshop: everything that runs a command, owns a folder or writes files.

The commands (``minigan train | sample | eval | sweep | gradcheck | bench``, dispatched by
``main``), the run driver they share, the diagnostics of a run, the sweeps, the benchmark and
its PyTorch peer, the exit codes. It builds on the library above it (``minigan.training``,
``minigan.checkpoint``, ...) and nothing in the library imports it.
"""
