"""``python -m deepclust.ledger``: record runs, build the results tables."""

import sys

from deepclust.ledger import main

sys.exit(main())
