"""The vocabulary all capabilities share: objects, tarball naming, sibling rules, verdicts, key ranges."""
