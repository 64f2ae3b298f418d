"""Benchmarks: figures, never thresholds (their short versions run in `make test`)."""
