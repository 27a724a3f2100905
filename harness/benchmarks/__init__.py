"""Benchmark scripts: they print measured numbers (never asserted by unit tests); the harness runs them."""
