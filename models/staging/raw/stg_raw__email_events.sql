-- one row per e-mail event: duplicates collapsed, latest delivery wins; incremental on
-- received_at (see macros/incremental.sql)
{{ config(
    materialized='incremental',
    unique_key='event_id',
    incremental_strategy=incremental_strategy(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('stg_raw__event_arrivals') }}

{%- if is_incremental() %}
    {%- do assert_as_of_not_before_built_events(this) %}
{%- endif %}

with

valid_rows as (

    select * from {{ ref('base_raw__email_events') }}
    where reject_reason is null
    {%- if is_incremental() %}
        and {{ incremental_event_filter(this, 'email_events') }}
    {%- endif %}

),

candidates as (

    select
        event_id,
        customer_id,
        campaign_id,
        event_type,
        occurred_at,
        received_at,
        false as is_loaded
    from valid_rows
    {%- if is_incremental() %}

        union all

        -- the version already loaded competes with the new deliveries of its key
        select
            event_id,
            customer_id,
            campaign_id,
            event_type,
            occurred_at,
            received_at,
            true as is_loaded
        from {{ this }}
        where event_id in (select valid_rows.event_id from valid_rows)
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
                received_at desc nulls last, occurred_at desc, event_type asc,
                customer_id asc, campaign_id asc, is_loaded desc
        ) as version_rank
    from candidates

),

current_rows as (

    select
        -- ids
        event_id,
        customer_id,
        campaign_id,

        -- strings
        event_type,

        -- timestamps
        occurred_at,
        received_at,
        {{ loaded_at() }} as loaded_at
    from ranked
    -- a key whose loaded version still wins is left as it is
    where version_rank = 1 and not is_loaded

)

select * from current_rows
