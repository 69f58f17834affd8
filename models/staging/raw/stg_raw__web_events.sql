-- one row per web event: duplicates collapsed, latest delivery wins; incremental on
-- received_at (the body: macro deduplicated_event_versions in macros/incremental.sql, its
-- window from audit_load_manifest)
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('audit_load_manifest') }}

{{ deduplicated_event_versions(
    base_model='base_raw__web_events',
    columns=[
        'event_id',
        'anonymous_id',
        'customer_id',
        'product_id',
        'event_type',
        'page_url',
        'occurred_at',
        'received_at',
    ],
    tie_breaks='occurred_at desc, event_type asc, page_url asc, anonymous_id asc, customer_id asc, product_id asc',
) }}
