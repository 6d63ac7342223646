"""Compile layer: resolved spec → PyMC models (see :mod:`forecast.compile.builder`)."""

import warnings

# The marginal likelihood's matrices are tiny: PyTensor's note about a missing BLAS is noise here.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

from forecast.compile.builder import Built, Numbers, ancestral_set, build, descendants, set_hyper  # noqa: E402

__all__ = ["Built", "Numbers", "ancestral_set", "build", "descendants", "set_hyper"]
