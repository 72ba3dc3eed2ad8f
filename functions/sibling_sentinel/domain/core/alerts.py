"""What every alert and event the product sends has in common, whichever capability sends it."""

from __future__ import annotations

EVENT_SOURCE = "sibling-sentinel"  # the EventBridge `source` of every event
SUBJECT_MAX = 99  # SNS: "less than 100 characters"


def sns_subject(text: str) -> str:
    """SNS subjects: printable ASCII, fewer than 100 characters (every alert's, the sweep's too)."""
    return text.encode("ascii", "replace").decode("ascii")[:SUBJECT_MAX]
