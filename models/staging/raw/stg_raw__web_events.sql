-- one row per web event: duplicates collapsed, latest delivery wins; incremental on
-- received_at (see macros/incremental.sql)
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy=incremental_strategy(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('stg_raw__arrivals') }}

{%- set version_columns = [
    'event_id',
    'anonymous_id',
    'customer_id',
    'product_id',
    'event_type',
    'page_url',
    'occurred_at',
    'received_at',
] %}
{%- if is_incremental() %}
    {%- do assert_as_of_not_before_built_events(this) %}
    {%- set window_start = lookback_window_start(this) %}
{%- endif %}

with

valid_rows as (

    select * from {{ ref('base_raw__web_events') }}
    where reject_reason is null
    {%- if is_incremental() %}
        and {{ incremental_event_filter(this, 'web_events', window_start) }}
    {%- endif %}

),

candidates as (

    select
        event_id,
        anonymous_id,
        customer_id,
        product_id,
        event_type,
        page_url,
        occurred_at,
        received_at,
        false as is_loaded
    from valid_rows
    {%- if is_incremental() %}

        union all

        -- a row received in the window beats any version loaded before the window (and
        -- one loaded from the window is reloaded itself); only rows reloaded from before
        -- the window (late days, events no longer in the future) meet their loaded version
        select
            event_id,
            anonymous_id,
            customer_id,
            product_id,
            event_type,
            page_url,
            occurred_at,
            received_at,
            true as is_loaded
        from {{ this }}
        where event_id in (
            select valid_rows.event_id from valid_rows
            where valid_rows.received_at < {{ window_start }} or valid_rows.received_at is null
        )
    {%- endif %}

),

ranked as (

    -- the latest version of each key wins; older versions and repeated deliveries are
    -- counted as duplicates in stg_raw__row_audit
    select
        *,
        row_number() over (
            partition by event_id
            order by
                received_at desc nulls last, occurred_at desc, event_type asc, page_url asc,
                anonymous_id asc, customer_id asc, product_id asc, is_loaded desc
        ) as version_rank
    from candidates

),

winners as (

    select
        *,
        {{ row_hash(version_columns) }} as version_hash
    from ranked
    where version_rank = 1 and not is_loaded

),

current_rows as (

    select
        -- ids
        event_id,
        anonymous_id,
        customer_id,
        product_id,

        -- strings
        event_type,
        page_url,

        -- numerics
        version_hash,

        -- timestamps
        occurred_at,
        received_at,
        {{ loaded_at() }} as loaded_at
    from winners
    {%- if is_incremental() %}
        -- a version already loaded as it is stays (downstream recomputes only real changes)
        where not exists (
            select 1 from {{ this }} as loaded
            where loaded.event_id = winners.event_id and loaded.version_hash = winners.version_hash
        )
    {%- endif %}

)

select * from current_rows
