"""The command line's edge: arguments, commands, worker processes and the demo. Not in the Lambda bundle."""
