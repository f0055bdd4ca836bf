"""Training recipes: versioned TOML files of model and training settings (``ssr train --recipe``).

A recipe names everything a run needs besides its data: the architecture (the ``[model]``
table, :class:`ssr.model.ModelConfig` fields) and the optimisation (the ``[train]`` table,
:class:`ssr.train.config.TrainConfig` fields). ``ssr train`` starts from the built-in
``shipped`` recipe, the one the bundled model was trained with; ``--recipe paper`` is the
paper's baseline (docs/training.md) and ``--recipe my.toml`` a file of the same shape.
Explicit flags override the recipe; the resolved values are saved in the run's
``config.json`` with the recipe's name and version.

>>> recipe = load_recipe("shipped")
>>> recipe.name, recipe.model["layout"], recipe.train["crop"]
('shipped', 'fast', 64)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["BUILTIN_RECIPES", "DEFAULT_RECIPE", "RECIPE_DIR", "TRAIN_KEYS", "Recipe", "load_recipe"]

RECIPE_DIR = Path(__file__).with_name("recipes")
"""Where the built-in recipes live (``<name>.toml``)."""
DEFAULT_RECIPE = "shipped"
"""The recipe ``ssr train`` uses without ``--recipe``."""
BUILTIN_RECIPES = tuple(sorted(path.stem for path in RECIPE_DIR.glob("*.toml")))
"""Names ``--recipe`` accepts besides a ``.toml`` path."""

TRAIN_KEYS = ("steps", "batch", "crop", "clip", "lr", "burn_in", "spatial_loss", "val_every",
              "val_frames", "checkpoint_every", "snapshot_every")
"""The TrainConfig fields a recipe's ``[train]`` table sets; ``ssr train`` has a flag of each name."""


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe: ``model`` (ModelConfig fields) and ``train`` (TrainConfig fields)."""

    name: str
    version: int
    source: str
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


def load_recipe(name_or_path: str) -> Recipe:
    """The built-in recipe ``name_or_path`` (:data:`BUILTIN_RECIPES`) or the TOML file at that path.

    Raises:
        ValueError: naming the file and the key, for an unknown recipe, a file that is not
            TOML, a missing ``name`` / ``version``, or a key that is neither a ModelConfig nor
            a recipe-settable TrainConfig field.
    """
    from ssr.model.config import ModelConfig

    path = Path(name_or_path)
    if path.suffix != ".toml":
        if name_or_path not in BUILTIN_RECIPES:
            raise ValueError(f"--recipe {name_or_path!r}: not a built-in recipe ({', '.join(BUILTIN_RECIPES)}) "
                             "nor a .toml file")
        path = RECIPE_DIR / f"{name_or_path}.toml"
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise ValueError(f"recipe {path}: cannot read it ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"recipe {path}: not valid TOML ({error})") from None
    unknown_tables = set(data) - {"name", "version", "model", "train"}
    if unknown_tables:
        raise ValueError(f"recipe {path}: unknown entries {sorted(unknown_tables)} (expected name, version, "
                         "[model], [train])")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("version"), int):
        raise ValueError(f"recipe {path}: needs a string 'name' and an integer 'version'")
    model, train = dict(data.get("model", {})), dict(data.get("train", {}))
    model_keys = {f.name for f in fields(ModelConfig)}
    for table, values, allowed in (("model", model, model_keys), ("train", train, set(TRAIN_KEYS))):
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"recipe {path}: [{table}] has unknown keys {sorted(unknown)} "
                             f"(allowed: {', '.join(sorted(allowed))})")
    try:
        ModelConfig.from_dict(model)
    except (TypeError, ValueError) as error:
        raise ValueError(f"recipe {path}: [model]: {error}") from None
    return Recipe(name=data["name"], version=data["version"], source=str(path), model=model, train=train)
