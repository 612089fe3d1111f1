"""The Gaussian code shared by the variational models (DDECN, Res-VAE): a mean and a
log-variance, a sample by reparameterisation, and its KL divergence to the standard normal.

References
----------
- Diederik P. Kingma, Max Welling. Auto-encoding variational Bayes. ICLR 2014.
"""

from __future__ import annotations

import torch


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A sample of ``N(mu, exp(logvar))`` that gradients flow through."""
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over samples of ``KL(N(mu, exp(logvar)) || N(0, I))``, summed over dimensions."""
    return (-0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean()
