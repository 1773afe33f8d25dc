"""Helpers of the rekaz-proxy benchmark driver, bench/bench.py."""
