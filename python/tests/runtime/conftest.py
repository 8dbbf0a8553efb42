import pytest

from kappa.runtime import core


@pytest.fixture(autouse=True)
def clean_runtime_flags():
    """No test leaks a pending pause or a pause policy into the next."""
    yield
    core.clear_pause()
    core.set_pause_filter(None)
