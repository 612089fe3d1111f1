"""The autoencoder interface and the model registry."""

from __future__ import annotations

import abc
import importlib
import inspect
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.arguments import check_values

#: every model, by the name a config's ``extractors.<name>.model`` uses -> "module:Class",
#: imported when first built (nothing registers itself on import)
MODELS: dict[str, str] = {
    "dense_ae": "deepclust.models.dense_ae:DenseAE",
    "conv_ae": "deepclust.models.conv_ae:ConvAE",
    "skip_cae": "deepclust.models.skip_cae:SkipCAE",
    "ascae": "deepclust.models.ascae:ASCAE",
    "scae": "deepclust.models.ascae:SCAE",
    "ddecn": "deepclust.models.ddecn:DDECN",
    "res_vae": "deepclust.models.res_vae:ResVAE",
}


def model_class(name: str) -> type[AutoEncoder]:
    """The class named ``name`` in :data:`MODELS`, imported on first use."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    module, attr = MODELS[name].split(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class JointPass:
    """One forward pass for clusterers that train the encoder jointly with a GCN (SDCN, SDDECC).

    ``layers``: every encoder layer's output flattened to (N, width), the code last (the GCN's
    layer ``l`` is fed a mix of its own output and ``layers[l]``). ``logvar``: the code's
    log-variance for a Gaussian encoder, else ``None``. ``losses``: the model's own weighted
    loss terms to add to the clustering loss (reconstruction, mutual information, ...).
    """

    layers: list[torch.Tensor]
    logvar: torch.Tensor | None = None
    losses: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def code(self) -> torch.Tensor:
        return self.layers[-1]


class AutoEncoder(nn.Module, metaclass=abc.ABCMeta):
    """An autoencoder whose encoder output is the clustering feature.

    Subclasses take ``(input_shape, n_clusters, **hyper_parameters)`` in ``__init__``, implement
    ``encode`` and ``decode``, and override :meth:`loss` when their objective is more than the
    reconstruction error.
    """

    @abc.abstractmethod
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) -> codes (N, d)."""

    @abc.abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (N, d) -> reconstructed images (N, C, H, W)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    #: the layer clustering uses unless a clusterer asks for another (see ``feature_layers``)
    default_feature_layer = "z"

    def feature_layers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer clustering may use, by name; all are saved in features.h5."""
        return {"z": self.encode(x)}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What clustering sees by default."""
        return self.feature_layers(x)[self.default_feature_layer]

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Mean squared reconstruction error; returns the loss and its named, detached terms for the log."""
        mse = F.mse_loss(self(x), x)
        return mse, {"mse": mse.detach()}

    def features_and_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`features` and :meth:`loss` of the same batch (IDEC's step needs both), with one
        encoder pass where the loss is the plain reconstruction of the default code; a model
        with its own objective, forward pass (skips) or feature layers gets two passes."""
        own = type(self)
        if (
            own.loss is AutoEncoder.loss
            and own.forward is AutoEncoder.forward
            and own.feature_layers is AutoEncoder.feature_layers
            and self.default_feature_layer == "z"
        ):
            z = self.encode(x)
            return z, F.mse_loss(self.decode(z), x)
        return self.features(x), self.loss(x)[0]

    def encoder_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every encoder layer's output, flattened to (N, width), the code last.

        Models that support GCN clustering (SDCN-style layer-wise fusion) override this.
        """
        raise NotImplementedError(
            f"model {type(self).__name__!r} does not expose its encoder "
            f"layers, so it cannot be clustered with a GCN; use {', '.join(gcn_models())}"
        )

    def joint_pass(self, x: torch.Tensor) -> JointPass:
        """Encoder layers plus the model's own loss: the mean squared reconstruction of the code
        for a plain autoencoder (one encoder pass), else the objective it was pretrained with
        (:meth:`loss`: skips, consistency or KL terms included; a second pass)."""
        layers = self.encoder_layers(x)
        own = type(self)
        if own.loss is AutoEncoder.loss and own.forward is AutoEncoder.forward:
            return JointPass(layers, losses={"mse": F.mse_loss(self.decode(layers[-1]), x)})
        return JointPass(layers, losses={"own": self.loss(x)[0]})


def gcn_models() -> list[str]:
    """The models that expose their encoder layers, so a GCN can be fused with them."""
    return sorted(
        name
        for name in MODELS
        if model_class(name).encoder_layers is not AutoEncoder.encoder_layers
    )


def check_model_args(name: str, args: dict) -> None:
    """Fail with the argument's name when ``args`` has a key model ``name`` does not take, or a
    value it cannot take (:func:`deepclust.arguments.check_values`)."""
    params = inspect.signature(model_class(name).__init__).parameters
    allowed = [p for p in params if p not in {"self", "input_shape", "n_clusters"}]
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise ValueError(
            f"model {name!r} takes no argument {unknown[0]!r}; it takes: {', '.join(allowed)}"
        )
    check_values(model_class(name), args)


def build_model(
    name: str, input_shape: tuple[int, int, int], n_clusters: int, **args
) -> AutoEncoder:
    """Instantiate model ``name`` for images of ``input_shape`` = (C, H, W)."""
    check_model_args(name, args)
    return model_class(name)(tuple(input_shape), int(n_clusters), **args)


REDUCTIONS = ("sum", "mean")


def check_reduction(reduction: str) -> str:
    """``reduction`` itself, or a ValueError naming the choices."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")
    return reduction


def squared_error(a: torch.Tensor, b: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """``||a - b||^2`` per sample, averaged over the batch.

    ``"sum"`` sums over each sample's elements (pixels, units), as the papers' norms are
    written; ``"mean"`` averages over them too (Keras' ``mse``), which divides the term by the
    number of elements and so changes the balance between terms of different sizes.
    """
    per_element = (a - b).pow(2).flatten(1)
    if check_reduction(reduction) == "sum":
        return per_element.sum(dim=1).mean()
    return per_element.mean()


def fan_in_uniform_init(module: nn.Module) -> None:
    """Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and zero biases: Keras' ``VarianceScaling(
    scale=1/3, mode="fan_in", distribution="uniform")``, DEC's published init on MNIST."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            fan_in = nn.init._calculate_fan_in_and_fan_out(layer.weight)[0]
            bound = 1.0 / fan_in**0.5
            nn.init.uniform_(layer.weight, -bound, bound)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def xavier_init(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases, the Keras default the reference code relied on."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
