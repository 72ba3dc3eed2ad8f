"""Lambda entry points: parse the event, build from Config, call the domain, return."""
