"""Internals of ``benchmark.fit``: core plans and pinning, the timed loop, worker processes, statistics."""
