"""`python -m sibling_sentinel.cli`: the console script's entry, for a checkout with no script installed."""

from .main import entry

entry()
