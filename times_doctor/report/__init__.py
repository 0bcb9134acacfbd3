"""What a scan leaves to read: the CSV, the ranking, the HTML page."""
