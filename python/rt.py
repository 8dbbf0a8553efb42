"""`import rt` runs programs written for the original Kappa unchanged."""

from kappa import *  # noqa: F401,F403
from kappa import __all__  # noqa: F401
