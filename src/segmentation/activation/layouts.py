"""Import file layouts: which column headers a destination's CSV/JSONL uses.

- klaviyo: Klaviyo's list import wants the e-mail in the first column ("Email"); "First
  Name" maps to the built-in property, the other columns become custom properties.
- mailchimp: Mailchimp's audience import: "Email Address", "First Name" (FNAME), "Tags"
  (here the one audience the person is in) and merge fields by merge tag; merge tags are
  at most 10 characters, hence PRIMARYSEG, LIFECYCLE, VALUETIER, BUYSOON, CHURNRISK,
  PREDVALUE, PERSONID.
- generic: the contract's snake_case column names.

A change-set file adds the change type as the last column ("Change", or ``change_type``
in generic), so that the e-mail stays first.
"""

from __future__ import annotations

from dataclasses import dataclass

from segmentation.activation.published import MEMBER_COLUMNS, ActivationError, Change, Member


@dataclass(frozen=True)
class Layout:
    name: str
    columns: tuple[tuple[str, str], ...]  # (header, Member attribute)
    change_header: str

    def header(self, with_change: bool) -> list[str]:
        names = [header for header, _ in self.columns]
        return [*names, self.change_header] if with_change else names

    def values(self, row: Member, with_change: bool) -> list[str | None]:
        values = [getattr(row, attribute) for _, attribute in self.columns]
        if not with_change:
            return values
        if not isinstance(row, Change):
            raise TypeError("a change-set file needs change rows")
        return [*values, row.op]


LAYOUTS = {
    "klaviyo": Layout(
        "klaviyo",
        (
            ("Email", "email"),
            ("First Name", "first_name"),
            ("Audience", "audience"),
            ("Primary Segment", "primary_segment"),
            ("Lifecycle Stage", "lifecycle_stage"),
            ("Value Tier", "value_tier"),
            ("Purchase Likelihood", "purchase_likelihood"),
            ("Churn Risk", "churn_risk"),
            ("Predicted Value", "predicted_value"),
            ("Favourite Category", "favourite_category"),
            ("Person ID", "person_id"),
        ),
        "Change",
    ),
    "mailchimp": Layout(
        "mailchimp",
        (
            ("Email Address", "email"),
            ("First Name", "first_name"),
            ("Tags", "audience"),
            ("PRIMARYSEG", "primary_segment"),
            ("LIFECYCLE", "lifecycle_stage"),
            ("VALUETIER", "value_tier"),
            ("BUYSOON", "purchase_likelihood"),
            ("CHURNRISK", "churn_risk"),
            ("PREDVALUE", "predicted_value"),
            ("FAVCATEGORY", "favourite_category"),
            ("PERSONID", "person_id"),
        ),
        "Change",
    ),
    "generic": Layout(
        "generic",
        # the contract's own columns, in its order
        tuple((name, name) for name in MEMBER_COLUMNS),
        "change_type",
    ),
}


def layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise ActivationError(f"unknown layout {name!r}; known layouts: {', '.join(LAYOUTS)}")
    return LAYOUTS[name]
