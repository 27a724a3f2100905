"""The benchmarking and validation harness: suites → job matrix → executors → results → reports."""

__version__ = "0.1.0"
