"""The framework: claims and verdicts, the chapter registry, ledger records, run parameters,
paths, statistics, display helpers, the papermill runner and the command line.

Imports only the standard library and numpy at module level, so `boundbook list`, `ledger` and
`mutate` stay instant (tests/test_architecture.py checks it).
"""
