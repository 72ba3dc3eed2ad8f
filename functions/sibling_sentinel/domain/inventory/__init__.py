"""An S3 Inventory as a lister: its manifest, its CSV rows, sorted into key order on disk."""
