"""The platform seam: process groups on POSIX and Windows, signals, locks."""
