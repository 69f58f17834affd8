-- one row per e-mail event: duplicates collapsed, latest delivery wins; incremental on
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
    base_model='base_raw__email_events',
    columns=[
        'event_id',
        'customer_id',
        'campaign_id',
        'event_type',
        'occurred_at',
        'received_at',
    ],
    tie_breaks='occurred_at desc, event_type asc, customer_id asc, campaign_id asc',
) }}
