"""Benchmarks of statmech: ``python -m benchmarks [NAME ...] [--quick]``.

Each module registers functions returning rows ``{benchmark, case, value, unit, ratio, check}``:
a throughput, its ratio to a reference measured in the same run, and a physics check of the very
numbers that were timed (a fast kernel that does not flip is the classic failure).
"""
