"""Several pinned instances of one benchmark at once, the machinery of ``benchmark.fit``: export the
model and batches (``launch``), one worker process per instance released together (``worker``), the
per-framework preparation for the timed loop (``runners``), per-instance and aggregate statistics
(``stats``). Which cores and how they are pinned: ``compressor.pinning``; the loop: ``compressor.timing``."""
