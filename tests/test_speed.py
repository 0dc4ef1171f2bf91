"""benchmarks/speed.py times tsfuse as it is shipped: with its corpus recipe unless told otherwise."""

from types import SimpleNamespace

from benchmarks.speed import run_budgets
from tsfuse.config import corpus_recipe


def test_speed_trains_tsfuse_with_the_corpus_recipe_and_recipe_none_leaves_the_preset_alone():
    recipe = corpus_recipe("oss-activity")
    assert recipe["model"] and recipe["train"]  # otherwise this test checks nothing
    shipped = run_budgets(SimpleNamespace(seed=0, quick=False, recipe="corpus"), "oss-activity")
    assert {k: shipped.tsfuse_model[k] for k in recipe["model"]} == recipe["model"]
    assert {k: shipped.tsfuse_train[k] for k in recipe["train"]} == recipe["train"]
    plain = run_budgets(SimpleNamespace(seed=0, quick=False, recipe="none"), "oss-activity")
    assert not set(recipe["model"]) & set(plain.tsfuse_model)
    assert not set(recipe["train"]) & set(plain.tsfuse_train)
