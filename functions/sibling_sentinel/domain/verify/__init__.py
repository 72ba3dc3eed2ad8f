"""A tarball's bytes read: its listing and checksum compared, a listing regenerated, a nightly sample."""
