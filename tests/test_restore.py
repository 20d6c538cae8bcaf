"""pl.restore's own checks (the samplers are tested beside their rungs)."""
import numpy as np
import pytest

import plausible as pl
from plausible.core.errors import NotSupportedError, ParameterError
from plausible.tasks.restore import _level_map


def test_a_rung_that_cannot_restore_names_one_that_can():
    images = np.random.default_rng(0).integers(0, 4, (40, 6, 6))
    model = pl.make("independent").fit(images)
    with pytest.raises(NotSupportedError, match="cannot restore") as info:
        pl.restore(model, np.zeros((2, 6, 6)), pl.operators.identity(), noise_sd=0.1)
    assert "\n" not in str(info.value)


def test_restore_needs_a_fitted_model_and_an_operator():
    model = pl.make("independent").fit(np.random.default_rng(0).integers(0, 3, (20, 3, 3)))
    with pytest.raises(ParameterError, match="operator"):
        pl.restore(model, np.zeros((1, 3, 3)), "blur", noise_sd=0.1)
    with pytest.raises(ParameterError, match="fitted plausible model"):
        pl.restore("model", np.zeros((1, 3, 3)), pl.operators.identity(), noise_sd=0.1)


@pytest.mark.parametrize("levels", [2, 17, 256])
def test_level_map_sends_levels_to_their_cell_centres(levels):
    a, b = _level_map(levels)
    level = np.arange(levels)
    assert np.allclose(a * level / (levels - 1) + b, (level + 0.5) / levels)
    assert _level_map(None) == (1.0, 0.0)
