"""Tests of kappa.worker.local; handlers.py also serves the Go tests of lambda/local."""
