"""Activation delivery: file exports of the audiences and an incremental HTTP sync.

dbt builds the contract in the published database (schema ``activation``): the
destinations, the audience members and the change set against the last confirmed sync.
This package reads it and delivers it:

- ``export``: a CSV or JSON Lines file in the destination's import layout, with a manifest
  (row count, sha256). An export never advances the sync state.
- ``sync``: the change set in batches to the destination's HTTP endpoint, with retries,
  idempotency keys and a journal so that a killed run resumes where it stopped. Only a
  fully confirmed change set advances the state file, which dbt reads back as a source.

Modules: ``paths`` (where files live), ``published`` (reading the contract), ``layouts``
(import file columns), ``export``, ``state`` (the state file), ``journal``, ``transport``
(HTTP with retries), ``report`` and ``sync``.
"""

from segmentation.activation.published import ActivationError
from segmentation.activation.state import state_schema

__all__ = ["ActivationError", "state_schema"]
