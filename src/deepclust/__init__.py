"""deepclust: deep image clustering methods (ASCAE, SDEKC, SDDECC, MFVC) and their baselines.

The package holds every piece of logic; the Snakemake workflow in ``workflow/`` only wires
files to these functions.
"""

__version__ = "0.1.0"
