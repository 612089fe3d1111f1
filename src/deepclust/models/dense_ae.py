"""The dense autoencoder d-500-500-2000-k of DEC/IDEC/N2D, the "AE" baseline.

References
----------
- Junyuan Xie, Ross Girshick, Ali Farhadi. Unsupervised deep embedding for clustering analysis.
  ICML 2016. Code: github.com/piiswrong/dec.
- Xifeng Guo, Long Gao, Xinwang Liu, Jianping Yin. Improved deep embedded clustering with local
  structure preservation. IJCAI 2017. Code: github.com/XifengGuo/IDEC.
  Their published code for the baselines' recipes: github.com/XifengGuo/DEC-keras.
- Ryan McConville, Raul Santos-Rodriguez, Robert J. Piechocki, Ian Craddock. N2D: (not too) deep
  clustering via clustering the local manifold of an autoencoded embedding. ICPR 2020. Code:
  github.com/rymc/n2d.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepclust.models.base import AutoEncoder, fan_in_uniform_init, xavier_init

#: hidden-layer activations: DEC's and N2D's code use ReLU; ClustPy's autoencoders LeakyReLU
ACTIVATIONS = {"relu": lambda: nn.ReLU(inplace=True), "leaky_relu": lambda: nn.LeakyReLU(0.01)}
#: initialisations, weights and biases:
#: - ``xavier``: Glorot uniform, zero biases (Keras' default; N2D's code, and DEC's published
#:   code on USPS);
#: - ``variance_scaling``: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), zero biases (Keras'
#:   ``VarianceScaling(scale=1/3, mode="fan_in", distribution="uniform")``, what DEC's published
#:   code, XifengGuo/DEC-keras ``run_exp.py``, gives the AE on MNIST and Fashion-MNIST);
#: - ``torch``: PyTorch's own ``nn.Linear`` default (what a PyTorch port that sets none gets):
#:   the same weights as ``variance_scaling``, but biases also U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
INITS = ("xavier", "variance_scaling", "torch")


class DenseAE(AutoEncoder):
    """Fully connected AE on flattened pixels; ReLU hidden layers, linear embedding and output.

    Parameters
    ----------
    input_shape : (C, H, W) of the images.
    n_clusters : number of clusters; the embedding size when ``latent_dim`` is not given.
    hidden_dims : widths of the encoder's hidden layers (the decoder mirrors them).
    latent_dim : embedding size (DEC uses 10 = n_clusters).
    activation : one of :data:`ACTIVATIONS` for the hidden layers.
    init : one of :data:`INITS`.
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_clusters: int,
        hidden_dims: tuple[int, ...] = (500, 500, 2000),
        latent_dim: int | None = None,
        activation: str = "relu",
        init: str = "xavier",
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"dense_ae: activation {activation!r}: expected one of {list(ACTIVATIONS)}"
            )
        if init not in INITS:
            raise ValueError(f"dense_ae: init {init!r}: expected one of {list(INITS)}")
        self.input_shape = tuple(input_shape)
        n_inputs = math.prod(input_shape)
        latent_dim = latent_dim or n_clusters
        widths = [n_inputs, *hidden_dims, latent_dim]
        self.encoder = _mlp(widths, ACTIVATIONS[activation])
        self.decoder = _mlp(widths[::-1], ACTIVATIONS[activation])
        if init == "xavier":
            xavier_init(self)
        elif init == "variance_scaling":
            fan_in_uniform_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def encoder_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The hidden activations (after the nonlinearity) and the code: SDCN's ``tra1..3`` and ``z``."""
        outputs, h = [], x.flatten(1)
        for layer in self.encoder:
            h = layer(h)
            if not isinstance(layer, nn.Linear):
                outputs.append(h)
        return [*outputs, h]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.input_shape)


def _mlp(widths: list[int], activation) -> nn.Sequential:
    """Linear layers with ``activation()`` between them and none after the last."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
