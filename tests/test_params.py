"""get_params / set_params / pl.clone: scikit-learn's parameter protocol on every model."""
import pytest

import plausible as pl


@pytest.mark.parametrize("name", sorted(pl.models()))
def test_set_params_validates_and_clone_gives_an_unfitted_copy_with_the_same_settings(name):
    model = pl.make(name, seed=3)
    params = model.get_params()
    assert set(params) == set(pl.models()[name]["params"])
    copy = pl.clone(model)
    assert type(copy) is type(model) and copy is not model
    assert copy.get_params() == params and copy.seed == 3
    assert model.set_params(seed=5) is model and model.seed == 5
    with pytest.raises(pl.ParameterError, match="no parameter 'not_a_parameter'"):
        model.set_params(not_a_parameter=1)
    with pytest.raises(pl.ParameterError, match="seed"):
        model.set_params(seed=-1)
    assert model.seed == 5          # a refused call changes nothing


def test_a_refused_value_leaves_every_parameter_as_it_was_and_clone_can_change_some():
    model = pl.make("gmm", seed=0, max_components=4)
    with pytest.raises(pl.ParameterError, match="max_components"):
        model.set_params(max_iter=50, max_components=0)
    assert model.get_params()["max_iter"] == pl.make("gmm").max_iter and model.max_components == 4
    copy = pl.clone(model, max_components=2, seed=9)
    assert (copy.max_components, copy.seed, model.max_components, model.seed) == (2, 9, 4, 0)


def test_a_clone_of_a_fitted_model_is_unfitted_and_the_original_keeps_what_it_learned():
    data = pl.datasets.load("fashion", n=200, seed=0)
    fitted = pl.make("independent", seed=0).fit(data)
    copy = pl.clone(fitted)
    with pytest.raises(pl.NotFittedError):
        copy.sample(1)
    assert len(fitted.sample(3, seed=0)) == 3
    with pytest.raises(TypeError, match="plausible model"):
        pl.clone("independent")
