"""Random-weights twins: the study's "Randomized" baseline.

A twin has the trained model's architecture and configuration, but its weights are the
package's own initialisation drawn under a fixed seed (the model is rebuilt from its config
inside :func:`seeded`, so every layer gets exactly the initialiser its authors chose). Its
:class:`~matteralign.models.base.ModelInfo` says so: name ``<name>-random``,
``random_weights=True``, ``training_data="none"``, no performance numbers, and the seed in
``version``.

>>> from matteralign.models.base import ModelInfo
>>> twin = random_info(ModelInfo("M", "3d", "F", "invariant", training_data="MPtrj"), seed=0)
>>> twin.name, twin.random_weights, twin.training_data, twin.version
('M-random', True, 'none', 'random-init seed=0')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from matteralign.models.base import ModelInfo

__all__ = ["DEFAULT_SEED", "copy_statistics", "random_info", "register_with_twin", "seeded"]

DEFAULT_SEED = 0
T = TypeVar("T")


def seeded(build: Callable[[], T], seed: int = DEFAULT_SEED) -> T:
    """Call ``build()`` with torch's (and numpy's) global RNG seeded, without disturbing them.

    Args:
        build: zero-argument constructor of a freshly initialised ``torch.nn.Module``.
        seed: the seed; the same seed gives bit-identical weights.

    Returns:
        Whatever ``build`` returns, in eval mode when it is a module.
    """
    import numpy as np
    import torch

    state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            np.random.seed(seed)
            model = build()
    finally:
        np.random.set_state(state)
    if isinstance(model, torch.nn.Module):
        model.eval()
    return model


def copy_statistics(trained: Any, twin: Any) -> list[str]:
    """Copy the non-trainable state of ``trained`` (a module or a state dict) into ``twin``.

    Buffers and frozen parameters (``requires_grad=False``) of ``twin`` hold dataset
    statistics, not learned weights — e.g. SevenNet's convolution denominator
    sqrt(avg_num_neigh), which a fresh build leaves at 0, or per-element energy shifts. The
    twin takes them from the checkpoint so that its forward pass is the architecture's;
    every trainable parameter stays random.

    Returns:
        The names of the frozen tensors that ``trained`` did not provide (empty when all
        were copied).
    """
    source = trained.state_dict() if hasattr(trained, "state_dict") else dict(trained)
    frozen = [n for n, p in twin.named_parameters() if not p.requires_grad]
    frozen += [n for n, _ in twin.named_buffers()]
    target = twin.state_dict()
    keep = {n: source[n] for n in frozen if n in source and source[n].shape == target[n].shape}
    twin.load_state_dict(keep, strict=False)
    return [n for n in frozen if n not in keep]


def random_info(info: ModelInfo, seed: int = DEFAULT_SEED, **changes: Any) -> ModelInfo:
    """The twin's metadata: ``info`` marked as randomly initialised with ``seed``."""
    fields = {f.name for f in dataclasses.fields(ModelInfo)}
    extra = {k: v for k, v in changes.items() if k in fields}
    base = dict(
        name=f"{info.name}-random",
        training_data="none",
        performance={},
        random_weights=True,
        version=f"random-init seed={seed}",
    )
    if "published_label" in fields:
        base["published_label"] = None
    base.update(extra)
    return dataclasses.replace(info, **base)


def register_with_twin(registry: Any, info: ModelInfo, factory: Callable[..., Any], *,
                       available: Callable[[], Any], seed: int = DEFAULT_SEED) -> None:
    """Register a pretrained model and its random-weights twin.

    The twin is ``factory(seed=seed)`` under :func:`random_info`'s metadata; both share the
    availability check (a twin needs the package and checkpoint config as much as the model).
    """
    registry.register(info, factory, available=available)
    registry.register(random_info(info, seed), partial(factory, seed=seed), available=available)
