"""The terminal: escape codes, the table, the live region, the menu."""
