"""The only code that touches boto3. Each adapter takes an injected client and raises the product's errors."""
