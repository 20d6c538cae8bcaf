"""Every registered model keeps every promise of the protocol (plausible.testing)."""
import pytest

import plausible as pl
import plausible.testing

MODELS = sorted(pl.models())


@pytest.mark.parametrize("check", sorted(plausible.testing.CHECKS))
@pytest.mark.parametrize("name", MODELS)
def test_conformance(name, check):
    plausible.testing.CHECKS[check](name)


def test_every_family_of_the_core_is_registered():
    assert {"independent", "histogram"} <= set(MODELS)
