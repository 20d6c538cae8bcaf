"""`python -m plausible.cli ...` (what torchrun launches): the same as the `plausible` command."""
import sys

from . import main

sys.exit(main())
