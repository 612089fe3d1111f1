"""Feature extractors, by name: ``build_model("dense_ae", input_shape, n_clusters, **args)``.

Each model lives in its own module, named in :data:`MODELS`. Every model is
an :class:`~deepclust.models.base.AutoEncoder`: ``encode`` gives the clustering features and
``loss(batch)`` the training objective, so one trainer serves them all.
"""

from deepclust.models.base import (
    MODELS,
    AutoEncoder,
    JointPass,
    build_model,
    check_model_args,
    gcn_models,
    model_class,
)

__all__ = [
    "MODELS",
    "AutoEncoder",
    "JointPass",
    "build_model",
    "check_model_args",
    "gcn_models",
    "model_class",
]
