"""Constructor values checked at plan time (deepclust.arguments), before any job runs."""

from __future__ import annotations

import pytest

from deepclust.arguments import check_values, matches


class Takes:
    def __init__(
        self,
        n: int = 1,
        rate: float = 0.1,
        on: bool = True,
        name: str | None = None,
        dims: tuple[int, ...] = (1,),
        pair: tuple[int, int] = (1, 2),
        anything=None,
    ):
        pass


@pytest.mark.parametrize(
    "values",
    [
        {"n": 3, "rate": 1, "on": False, "name": None, "dims": [4, 5], "pair": [1, 2]},
        {"rate": 0.5, "name": "x", "dims": [], "anything": {"a": [1]}},
    ],
)
def test_values_that_fit_the_annotations_pass(values):
    check_values(Takes, values)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"n": "five"}, "n: expected int, got 'five'"),
        ({"n": True}, "n: expected int, got True"),  # a bool is not a count
        ({"n": 2.0}, "n: expected int, got 2.0"),
        ({"rate": "1e-3"}, "write it with a dot"),  # YAML 1.1 reads 1e-3 as text
        ({"on": "yes"}, "on: expected bool"),
        ({"dims": [1, "x"]}, "dims: expected tuple[int, ...]"),
        ({"pair": [1, 2, 3]}, "pair: expected tuple[int, int]"),
        ({"name": 3}, "name: expected str | None"),
    ],
)
def test_a_value_the_constructor_cannot_take_is_named(values, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("|", r"\|")):
        check_values(Takes, values)


def test_a_wrapped_scikit_learn_estimator_lends_its_constraints():
    from deepclust.clustering import check_clusterer_params

    check_clusterer_params("gmm", {"covariance_type": "diag", "n_init": 3})
    with pytest.raises(ValueError, match="'covariance_type' parameter must be a str among"):
        check_clusterer_params("gmm", {"covariance_type": "round"})
    with pytest.raises(ValueError, match="'eps' parameter must be a float in the range"):
        check_clusterer_params("dbscan", {"eps": -1.0})
    assert matches([1, 2], list[int]) and not matches("ab", list[str])
