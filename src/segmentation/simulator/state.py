"""The population state a simulated period starts from and leaves behind.

``generate`` starts from an empty state, ``append`` from the state stored in
``<truth>/simulator_state/`` (the truth folder is never read by dbt):

* ``persons.parquet``: one row per person (latent persona, rates, devices and what they
  were identified as, customer records, e-mail consent schedule, profile);
* ``pending_email.parquet``: opens, clicks and spam complaints of deliveries that happen
  after the end (written by the period they fall in);
* ``pending_orders.parquet``: order status versions (cancelled, returned) after the end;
* ``redeliver_<table>.parquet``: events of the last day that are delivered once more;
* ``shop.json``: end, counters, the salt of anonymous_ids, products and campaigns.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from segmentation.simulator.catalog import Catalog

STATE_DIR = "simulator_state"
SHOP_FILE = "shop.json"
STATE_VERSION = 2  # 2: Persons.last_prod


@dataclass
class Counters:
    """The largest number used so far per id kind."""

    customer: int = 0
    person: int = 0
    order: int = 0
    web: int = 0
    email: int = 0
    device: int = 0

    def take(self, name: str, k: int) -> np.ndarray:
        last = getattr(self, name)
        setattr(self, name, last + k)
        return last + 1 + np.arange(k, dtype=np.int64)


@dataclass
class Persons:
    """Per-person state (arrays of equal length, index = person number - 1)."""

    person_num: np.ndarray
    persona: np.ndarray
    signup: np.ndarray
    active_until: np.ndarray  # lapsing: no activity after this time (NEVER otherwise)
    n_orders: np.ndarray
    order_rate: np.ndarray  # orders per year
    browse_rate: np.ndarray  # browse sessions per year
    fav: np.ndarray  # favourite category
    last_prod: np.ndarray  # product of the first line of the latest order (-1: none)
    p_add: np.ndarray
    p_chk: np.ndarray
    open_p: np.ndarray
    click_p: np.ndarray
    recv_p: np.ndarray
    dev0: np.ndarray  # device number of the first device, the second is dev0 + 1
    n_dev: np.ndarray
    used: np.ndarray  # bit s: device s has events in the raw data
    bound0: np.ndarray  # bit r: device 0 was identified as record r (0 primary, 1 duplicate)
    bound1: np.ndarray
    rec_num: np.ndarray  # customer number of the primary record
    dup_num: np.ndarray  # customer number of the duplicate record, -1: none
    dup_signup: np.ndarray
    email_null: np.ndarray
    c_in: np.ndarray  # e-mail opt-in (NEVER: none)
    t_out: np.ndarray  # e-mail opt-out (NEVER: none)
    via_link: np.ndarray  # opts out through the unsubscribe link of an e-mail
    first_idx: np.ndarray
    last_idx: np.ndarray
    gender: np.ndarray
    birth: np.ndarray
    city: np.ndarray
    dup_city: np.ndarray
    variant: np.ndarray  # spelling of the primary e-mail (-1: clean)
    dup_variant: np.ndarray

    def __len__(self) -> int:
        return len(self.person_num)

    def take(self, idx: np.ndarray | slice) -> Persons:
        return Persons(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[Persons]) -> Persons:
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    def to_table(self) -> pa.Table:
        return pa.table({f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def from_table(cls, table: pa.Table) -> Persons:
        # copies: a period updates the state in place
        return cls(**{f.name: np.array(table[f.name].to_numpy()) for f in fields(cls)})


@dataclass
class Shop:
    """What every chunk shares: the end so far, counters, catalogue, device salt."""

    end: int
    salt: int
    signups_per_day: float
    optin_per_year: float  # later e-mail opt-ins of those without consent
    catalog: Catalog
    counters: Counters = field(default_factory=Counters)

    def save(self, path: Path) -> None:
        c = self.catalog
        spec = {
            "version": STATE_VERSION,
            "end": self.end,
            "salt": self.salt,
            "signups_per_day": self.signups_per_day,
            "optin_per_year": self.optin_per_year,
            "counters": asdict(self.counters),
            "products": {
                "category": c.prod_cat.tolist(),
                "cents": c.prod_cents.tolist(),
                "number": c.prod_num.tolist(),
            },
            "campaigns": {
                "sent_at": c.camp_times.tolist(),
                "kind": c.camp_kinds.tolist(),
                "audience": c.camp_audience.tolist(),
            },
        }
        path.write_text(json.dumps(spec) + "\n")

    @classmethod
    def load(cls, path: Path) -> Shop:
        spec = json.loads(path.read_text())
        if spec.get("version") != STATE_VERSION:
            raise ValueError(
                f"{path}: simulator state version {spec.get('version')} is not "
                f"{STATE_VERSION}: generate the data again"
            )
        prod, camp = spec["products"], spec["campaigns"]
        catalog = Catalog(
            prod_cat=np.array(prod["category"], np.int64),
            prod_cents=np.array(prod["cents"], np.int64),
            prod_num=np.array(prod["number"], np.int64),
            camp_times=np.array(camp["sent_at"], np.int64),
            camp_kinds=np.array(camp["kind"], np.int64),
            # a state saved before audience sends has none
            camp_audience=np.array(camp.get("audience", [""] * len(camp["kind"])), object),
        )
        return cls(
            end=spec["end"],
            salt=spec["salt"],
            signups_per_day=spec["signups_per_day"],
            optin_per_year=spec["optin_per_year"],
            catalog=catalog,
            counters=Counters(**spec["counters"]),
        )


PENDING_EMAIL = pa.schema(
    [("person", pa.int64()), ("campaign", pa.int64()), ("event_type", pa.int64()),
     ("occurred", pa.int64())]
)  # fmt: skip
PENDING_ORDERS = pa.schema(
    [("order", pa.int64()), ("customer", pa.int64()), ("ordered", pa.int64()),
     ("status", pa.int64()), ("updated", pa.int64())]
)  # fmt: skip
REDELIVER_TABLES = ("web_events", "email_events")


@dataclass
class Pending:
    """Rows that belong to a later period."""

    email: pa.Table = field(default_factory=PENDING_EMAIL.empty_table)
    orders: pa.Table = field(default_factory=PENDING_ORDERS.empty_table)
    redeliver: dict[str, pa.Table] = field(default_factory=dict)


def state_dir(truth_dir: Path) -> Path:
    return Path(truth_dir) / STATE_DIR


def save_state(truth_dir: Path, shop: Shop, persons: pa.Table, pending: Pending) -> None:
    folder = state_dir(truth_dir)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(persons, folder / "persons.parquet")
    pq.write_table(pending.email, folder / "pending_email.parquet")
    pq.write_table(pending.orders, folder / "pending_orders.parquet")
    for t in REDELIVER_TABLES:
        pq.write_table(pending.redeliver[t], folder / f"redeliver_{t}.parquet")
    shop.save(folder / SHOP_FILE)


def load_state(truth_dir: Path) -> tuple[Shop, Persons, Pending]:
    """The stored state; a clear error naming what is missing."""
    folder = state_dir(truth_dir)
    names = [SHOP_FILE, "persons.parquet", "pending_email.parquet", "pending_orders.parquet",
             *(f"redeliver_{t}.parquet" for t in REDELIVER_TABLES)]  # fmt: skip
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ValueError(
            f"no simulator state in {folder} (missing {', '.join(missing)}): append continues "
            "the population that generate() stored there. Generate the data first, or pass "
            "the truth folder it was generated with (--truth-out)."
        )
    shop = Shop.load(folder / SHOP_FILE)
    persons = Persons.from_table(pq.read_table(folder / "persons.parquet"))
    pending = Pending(
        email=pq.read_table(folder / "pending_email.parquet"),
        orders=pq.read_table(folder / "pending_orders.parquet"),
        redeliver={t: pq.read_table(folder / f"redeliver_{t}.parquet") for t in REDELIVER_TABLES},
    )
    return shop, persons, pending
