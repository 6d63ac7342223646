"""Spec layer: scenario files as plain validated data. No PyMC is imported here."""

from forecast.spec.errors import Problem, SpecError
from forecast.spec.load import load_model, parse_model
from forecast.spec.priorsets import PriorSet, load_prior_set
from forecast.spec.resolve import Resolved, resolve
from forecast.spec.schema import ScenarioModel

__all__ = [
    "Problem",
    "PriorSet",
    "Resolved",
    "ScenarioModel",
    "SpecError",
    "load_model",
    "load_prior_set",
    "parse_model",
    "resolve",
]
