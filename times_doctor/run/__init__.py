"""One run: the runner, its log tail, its progress series, what it cost."""
