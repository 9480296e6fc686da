"""Benchmarks and the synthetic corpus they (and the stress tests) use."""
