"""Id formats: PREFIX + zero-padded number. Numbers come from the shop's counters
(:class:`segmentation.simulator.state.Counters`), so ids continue after the largest
existing one across appends; anonymous_ids are a salted bijection of a device number."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmentation.simulator.arrays import hex_ids
from segmentation.simulator.arrays import ids as _ids


@dataclass(frozen=True)
class IdFormat:
    prefix: str
    width: int

    def ids(self, numbers: np.ndarray) -> pa.Array:
        return _ids(self.prefix, numbers, self.width)


CUSTOMER = IdFormat("C", 7)
PERSON = IdFormat("PSN", 7)
ORDER = IdFormat("ORD", 9)
WEB = IdFormat("WE", 10)
EMAIL = IdFormat("EE", 10)
CAMPAIGN = IdFormat("CMP", 5)
PRODUCT = IdFormat("SKU", 5)
EVENT_IDS = {"web_events": WEB, "email_events": EMAIL}


def anonymous_ids(devices: np.ndarray, salt: int) -> pa.Array:
    return hex_ids(devices, salt)
