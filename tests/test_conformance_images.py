"""Every rung's image version keeps every promise of the protocol (plausible.testing_images)."""
import pytest

import plausible.testing
import plausible.testing_images as suite

MODELS = suite.image_models()


@pytest.mark.parametrize("check", list(suite.CHECKS))
@pytest.mark.parametrize("name", MODELS)
def test_image_conformance(name, check):
    try:
        suite.CHECKS[check](name)
    except plausible.testing.Skip as why:
        pytest.skip(f"{name}: {why}")


def test_the_image_suite_covers_the_counting_rung_and_reports_outcomes(capsys):
    assert "independent" in MODELS
    outcomes = suite.check_image_model("independent", ["fit_returns_model"], verbose=True)
    assert outcomes == {"fit_returns_model": "passed"}
    assert "independent: fit_returns_model: passed" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no image conformance check"):
        suite.check_image_model("independent", ["nope"])
    with pytest.raises(ValueError, match="has no image version"):
        suite.check_image_model("copula")


def test_digits_say_they_have_17_levels_and_a_schema_can_say_it_for_any_array():
    import numpy as np
    import plausible as pl
    from plausible.core.errors import ParameterError

    digits = pl.datasets.load("digits")
    assert digits.dtype == np.uint8 and digits.max() == 16 and digits[:10].levels == 17
    model = pl.make("independent").fit(digits[:200])
    assert model.codec_.n_levels == 17 and model.sample(3).levels == 17
    plain = np.asarray(digits[:200])
    assert pl.make("independent").fit(plain).codec_.n_levels == 256            # uint8 alone: 256 levels
    assert pl.make("independent").fit(plain, schema={"levels": 17}).codec_.n_levels == 17
    with pytest.raises(pl.SchemaError, match="level 16"):
        pl.make("independent").fit(plain, schema={"levels": 9})
    with pytest.raises(ParameterError, match="one schema setting"):
        pl.make("independent").fit(plain, schema={"age": "numeric"})


def test_a_table_model_fitted_on_images_takes_the_image_versions_own_fit_arguments():
    import numpy as np
    import plausible as pl
    from plausible.testing_images import image_data

    images = image_data("levels", n=32)
    model = pl.make("diffusion", seed=0, updates=4, batch_size=16, blocks=1)     # the table class until fitted
    model.fit(images, labels=np.arange(32) % 2)
    assert model.data_kind == "image" and model.sample(2, labels=[0, 1]).shape == (2, 8, 8)
    with pytest.raises(pl.ParameterError, match="takes no 'labels'"):
        pl.make("independent").fit(images, labels=np.zeros(32))
