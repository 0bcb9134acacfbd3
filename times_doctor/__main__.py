"""``python -m times_doctor``: works from a vendored copy and from a zipapp."""

import sys

from times_doctor.cli import main

if __name__ == "__main__":
    sys.exit(main())
