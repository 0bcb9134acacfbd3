"""Counting and sampling in bounded memory, for the streaming readers of diagnose.

A QA_CHECK.LOG or a listing can name a million distinct processes or
elements.  The readers count them here: exact counts for the first
``max_keys`` distinct keys, everything after that folded into one "other"
tally (and said so), and the first ``max_samples`` examples kept verbatim.
Imports nothing from the package.
"""

class BoundedCounter(object):
    """A Counter that tracks at most *max_keys* distinct keys.

    Keys seen after the limit is reached add to ``other`` (occurrences) and
    ``other_keys`` (first occurrences that found no room), so the total is
    always exact even when the ranking is only over the first keys.
    """

    def __init__(self, max_keys=10000):
        self.max_keys = max_keys
        self.counts = {}      # key -> occurrences (a plain dict: add() runs per event)
        self.first = {}       # key -> first "where" given
        self.other = 0
        self.total = 0

    def add(self, key, where=None, count=1):
        """Count *key* (*count* times); *where* is remembered for its first occurrence."""
        self.total += count
        counts = self.counts
        if key in counts:
            counts[key] += count
        elif len(counts) < self.max_keys:
            counts[key] = count
            if where is not None:
                self.first[key] = where
        else:
            self.other += count

    @property
    def truncated(self):
        """True when some keys found no room (their occurrences are in ``other``)."""
        return self.other > 0

    def most_common(self, limit=None):
        """[(key, count)] by count, then key (stable across runs)."""
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], str(item[0])))
        return ranked if limit is None else ranked[:limit]

    def __len__(self):
        return len(self.counts)


class Samples(object):
    """The first *limit* items of a stream, each cut to *max_chars*, and how many there were."""

    def __init__(self, limit=20, max_chars=300):
        self.limit = limit
        self.max_chars = max_chars
        self.items = []
        self.count = 0

    def add(self, item):
        self.count += 1
        if len(self.items) < self.limit:
            if isinstance(item, str) and len(item) > self.max_chars:
                item = item[:self.max_chars] + "..."
            self.items.append(item)
