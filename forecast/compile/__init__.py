"""Compile layer: resolved spec → PyMC models (see :mod:`forecast.compile.builder`)."""

from forecast.compile.builder import Built, Numbers, ancestral_set, build, descendants, set_hyper

__all__ = ["Built", "Numbers", "ancestral_set", "build", "descendants", "set_hyper"]
