"""Lambda's edge: the handlers, the adapters built from Config (wiring), S3 events, Powertools."""
