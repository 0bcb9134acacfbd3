"""Other processes: the control protocol, sessions, status, reap, the dashboard."""
