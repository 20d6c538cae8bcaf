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
