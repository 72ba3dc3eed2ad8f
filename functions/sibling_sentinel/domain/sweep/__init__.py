"""The sweep: key ranges reconciled into verdicts, the report, checkpoints, fleet health, FullSweep."""
