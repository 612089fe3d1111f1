"""Feature extractors, registered by name: ``build_model("dense_ae", input_shape, n_clusters, **args)``.

Each model lives in its own module and registers itself with :func:`register`. Every model is
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
    register,
)

# Importing the modules registers the models.
from deepclust.models import ascae, conv_ae, ddecn, dense_ae, res_vae, skip_cae  # noqa: E402,F401  isort: skip

__all__ = [
    "MODELS",
    "AutoEncoder",
    "JointPass",
    "build_model",
    "check_model_args",
    "gcn_models",
    "register",
]
