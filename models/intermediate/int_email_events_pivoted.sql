-- one row per source customer_id and campaign: counts and first times of each e-mail event
-- type; incremental: a run rebuilds the pairs that received a new event
{{ config(
    materialized='incremental',
    unique_key='customer_campaign_key',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('audit_load_manifest') }}

{%- set pair_key = "customer_id || '|' || coalesce(campaign_id, '')" %}

with

{% if is_incremental() %}

    email_events as (

        -- the staged table read twice, not a shared CTE (DuckDB would materialise it whole)
        select * from {{ ref('stg_raw__email_events') }}
        where {{ pair_key }} in (
            select {{ pair_key }} from {{ ref('stg_raw__email_events') }}
            where loaded_at > {{ load_window(this.identifier).last_loaded_at }}
        )

    ),

{% else %}

    email_events as (

        select * from {{ ref('stg_raw__email_events') }}

    ),

{% endif %}

pivoted as (

    select
        -- ids
        -- one key for the pair, built once per pair (grouping by it as well cost a fifth of
        -- the model at 1M); a null campaign is a pair of its own
        {{ pair_key }} as customer_campaign_key,
        customer_id,
        campaign_id,

        -- numerics
        count(case when event_type = 'sent' then 1 end) as sent_count,
        count(case when event_type = 'delivered' then 1 end) as delivered_count,
        count(case when event_type = 'open' then 1 end) as open_count,
        count(case when event_type = 'click' then 1 end) as click_count,
        count(case when event_type = 'bounce' then 1 end) as bounce_count,
        count(case when event_type = 'unsubscribe' then 1 end) as unsubscribe_count,
        count(case when event_type = 'spam_complaint' then 1 end) as spam_complaint_count,

        -- timestamps
        min(case when event_type = 'sent' then occurred_at end) as first_sent_at,
        min(case when event_type = 'open' then occurred_at end) as first_opened_at,
        min(case when event_type = 'click' then occurred_at end) as first_clicked_at,
        max(case when event_type = 'open' then occurred_at end) as last_opened_at,
        max(case when event_type = 'click' then occurred_at end) as last_clicked_at,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        {{ loaded_at() }} as loaded_at
    from email_events
    group by customer_id, campaign_id

)

select * from pivoted
