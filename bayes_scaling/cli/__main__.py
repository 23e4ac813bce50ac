"""``python -m bayes_scaling.cli``: what torchrun starts on every rank (``-m bayes_scaling.cli ladder run ...``)."""

import sys

from bayes_scaling.cli import main

sys.exit(main())
