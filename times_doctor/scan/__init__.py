"""A scan: its plan, the scanner, resume, checks and the state file."""
