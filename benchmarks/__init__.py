"""Performance figures for till, each a ratio to a floor measured in the same run.

Every benchmark module is named ``bench_<something>.py`` and exposes ``BENCHMARKS``: a mapping
from a benchmark name to a zero-argument callable returning a :class:`Result`. The runner in
``__main__`` discovers them, so a new figure never needs the runner edited.
"""
