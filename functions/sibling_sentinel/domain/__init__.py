"""Pure rules of the product: naming, verdicts, reconciliation and reports. No boto3 here."""
