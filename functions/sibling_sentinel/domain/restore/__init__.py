"""Choosing the newest compatible backup to restore, from a sweep's verdicts and their manifests."""
