"""Manifests: the manifest's rules, reading it beside a listed tarball, and one tarball judged in full."""
