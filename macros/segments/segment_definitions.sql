{#-
    SEGMENT DEFINITIONS: the one place where segments are defined (DESIGN.md section 4).

    Add a segment by adding an entry below; `dbt build` compiles every definition into
    segmentation.customer_segments (macro compile_segment_memberships) and tests its size.
    Fields:
      name          unique segment name (what the e-mail platform sees)
      type          rfm, lifecycle, behavioral, value, nested, ... (free text, lower case)
      description   what it means, for analysts and BI
      condition     a SQL boolean expression over segmentation.customer_features columns
      parent        optional: a segment this one lies inside (members must also match the parent)
      priority      lower = more important; a person's primary segment is their lowest priority
      min_share     optional, share of all people (default var segment_default_min_share, 1 %)
      max_share     optional (default var segment_default_max_share, 100 %)
      owner         who answers questions about it
    Validation (macro validate_segment_definitions) runs before any table is written and names
    the definition at fault: unknown column, broken expression, unknown parent, parent cycle,
    duplicate name. Ad-hoc definitions can be added with the var extra_segment_definitions
    (same fields), and shares overridden per segment with the var segment_share_overrides,
    e.g. --vars '{segment_share_overrides: {"Champions": {min_share: 0.05}}}'.
-#}
{% macro segment_definitions_yaml() %}
# ---- behavioral: what people are doing right now -------------------------------------
- name: Hot Abandoners
  type: behavioral
  description: Viewed 3+ products within 10 minutes in the last week and abandoned a cart in the last week.
  condition: has_recent_browsing_intent and days_since_last_abandoned_cart <= 7
  priority: 10
  min_share: 0.0005
  owner: crm
- name: High Intent - At Risk
  type: behavioral
  description: Two or more checkout visits in the last 7 days without a purchase after them.
  condition: checkouts_without_purchase_7d >= 2
  priority: 20
  min_share: 0.0005
  owner: crm
- name: Recent High-Value Buyers
  type: nested
  parent: Top 10% Value
  description: Bought in the last 14 days and belongs to the top value tier.
  condition: days_since_last_order <= 14
  priority: 30
  min_share: 0.0005
  owner: crm
- name: High Spenders with Low Recent Engagement
  type: behavioral
  description: Top value tier, but no site visit and no e-mail open in the last 30 days.
  condition: >-
    value_tier = 'top_10'
    and coalesce(days_since_last_visit, 100000) > 30
    and coalesce(days_since_last_email_open, 100000) > 30
  priority: 40
  min_share: 0.0005
  owner: crm
- name: Engaged but Dormant
  type: behavioral
  description: Opens at least half of the e-mails received in the last 90 days (2 or more), no purchase in 90 days.
  condition: >-
    emails_received_90d >= 2 and email_open_rate_90d >= 0.5
    and coalesce(days_since_last_order, 100000) >= 90
  priority: 50
  min_share: 0.0005
  owner: crm

# ---- RFM: the 11-segment map (seed rfm_segment_map maps every score cell once) -------
- {name: Champions, type: rfm, condition: "rfm_segment = 'Champions'", priority: 100, owner: analytics, description: "Bought recently, buy often and spend the most."}
- {name: Loyal Customers, type: rfm, condition: "rfm_segment = 'Loyal Customers'", priority: 101, owner: analytics, description: "Buy regularly and spend well; responsive to promotions."}
- {name: Potential Loyalist, type: rfm, condition: "rfm_segment = 'Potential Loyalist'", priority: 102, owner: analytics, description: "Recent customers with average frequency and spend."}
- {name: New Customers, type: rfm, condition: "rfm_segment = 'New Customers'", priority: 103, owner: analytics, description: "Bought most recently, but not often."}
- {name: Promising, type: rfm, condition: "rfm_segment = 'Promising'", priority: 104, owner: analytics, description: "Recent shoppers who have not spent much."}
- {name: Need Attention, type: rfm, condition: "rfm_segment = 'Need Attention'", priority: 105, owner: analytics, description: "Average recency, frequency and spend; may not have bought lately."}
- {name: About To Sleep, type: rfm, condition: "rfm_segment = 'About To Sleep'", priority: 106, owner: analytics, description: "Below-average recency and frequency; will be lost without reactivation."}
- {name: At Risk, type: rfm, condition: "rfm_segment = 'At Risk'", priority: 107, owner: analytics, description: "Spent well and bought often, but long ago."}
- {name: "Can't Lose Them", type: rfm, condition: "rfm_segment = 'Can''t Lose Them'", priority: 108, owner: analytics, description: "Made the biggest and most frequent purchases, but have not returned for a long time."}
- {name: Hibernating, type: rfm, condition: "rfm_segment = 'Hibernating'", priority: 109, owner: analytics, description: "Last purchase long ago, low spend and few orders."}
- {name: Lost, type: rfm, condition: "rfm_segment = 'Lost'", priority: 110, owner: analytics, description: "Lowest recency, frequency and spend."}

# ---- lifecycle: exactly one stage per person (thresholds are vars, see customer_features)
- {name: Prospect, type: lifecycle, condition: "lifecycle_stage = 'prospect'", priority: 200, owner: crm, description: "Never completed a purchase."}
- {name: New, type: lifecycle, condition: "lifecycle_stage = 'new'", priority: 201, owner: crm, description: "First purchase within lifecycle_new_days (30)."}
- {name: Loyal, type: lifecycle, condition: "lifecycle_stage = 'loyal'", priority: 202, owner: crm, description: "More than lifecycle_loyal_min_orders (3) purchases, or opened more than 80 % of e-mails last quarter."}
- {name: Active, type: lifecycle, condition: "lifecycle_stage = 'active'", priority: 203, owner: crm, description: "Bought within lifecycle_at_risk_days (90), neither new nor loyal."}
- {name: At Risk (lifecycle), type: lifecycle, condition: "lifecycle_stage = 'at_risk'", priority: 204, owner: crm, description: "Still active somewhere, but no purchase for lifecycle_at_risk_days (90)."}
- {name: Dormant, type: lifecycle, condition: "lifecycle_stage = 'dormant'", priority: 205, owner: crm, description: "No activity (order, visit, e-mail open or click) for lifecycle_dormant_days (60)."}
- {name: Lost (lifecycle), type: lifecycle, condition: "lifecycle_stage = 'lost'", priority: 206, owner: crm, description: "No activity for lifecycle_lost_days (180)."}

# ---- value tiers by net revenue ---------------------------------------------------------
- {name: Top 10% Value, type: value, condition: "value_tier = 'top_10'", priority: 300, owner: finance, description: "Top 10 % of people by net revenue."}
- {name: Next 40% Value, type: value, condition: "value_tier = 'next_40'", priority: 301, owner: finance, description: "The next 40 % by net revenue."}
- {name: Remaining 50% Value, type: value, condition: "value_tier = 'rest'", priority: 302, owner: finance, description: "Everyone else, non-buyers included."}
{% endmacro %}
