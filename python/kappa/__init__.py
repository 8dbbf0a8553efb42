"""Kappa: ordinary Python programs on time-bounded serverless functions."""
