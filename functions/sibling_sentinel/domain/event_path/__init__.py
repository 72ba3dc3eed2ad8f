"""The event path: an upload's check message, when to check again or give up, the bucket's notifications."""
