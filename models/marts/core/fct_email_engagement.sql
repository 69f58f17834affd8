-- one row per source customer_id and campaign: what the recipient did with that campaign's
-- e-mail; incremental: a run writes again the pairs pivoted since its last run, and those of
-- re-attributed customers and of campaigns whose name or send time changed
{{ config(
    materialized='incremental',
    unique_key='customer_campaign_key',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
-- depends_on: {{ ref('audit_load_manifest') }}

with

campaigns as (

    select * from {{ ref('stg_raw__email_campaigns') }}

),

{% if is_incremental() %}

    {%- set since = load_window(this.identifier).last_loaded_at %}

    changed_campaigns as (

        -- what the table says of each campaign against what staging says now (a campaign
        -- that arrived after its e-mails, was renamed or is gone)
        select distinct built.campaign_id
        from {{ this }} as built
        left join campaigns
            on built.campaign_id = campaigns.campaign_id
        where
            built.campaign_name is distinct from campaigns.campaign_name
            or built.campaign_sent_at is distinct from campaigns.sent_at

    ),

    pivoted as (

        select * from {{ ref('int_email_events_pivoted') }}
        where loaded_at > {{ since }}

        union all

        select * from {{ ref('int_email_events_pivoted') }}
        where
            loaded_at <= {{ since }}
            and (
                customer_id in (
                    select identity_changes.customer_id
                    from {{ ref('int_customers_identity_tracked') }} as identity_changes
                    where identity_changes.loaded_at > {{ since }}
                )
                or campaign_id in (select changed_campaigns.campaign_id from changed_campaigns)
            )

    ),

{% else %}

    pivoted as (

        select * from {{ ref('int_email_events_pivoted') }}

    ),

{% endif %}

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

final as (

    select
        -- ids
        pivoted.customer_id,
        customers_merged.person_id,
        pivoted.campaign_id,
        pivoted.customer_campaign_key,

        -- strings
        campaigns.campaign_name,

        -- numerics
        cast(pivoted.open_count as bigint) as open_count,
        cast(pivoted.click_count as bigint) as click_count,

        -- booleans
        pivoted.sent_count > 0 as is_sent,
        pivoted.delivered_count > 0 as is_delivered,
        -- a click implies the e-mail was opened even when the open pixel was blocked
        pivoted.open_count + pivoted.click_count > 0 as is_opened,
        pivoted.click_count > 0 as is_clicked,
        pivoted.bounce_count > 0 as is_bounced,
        pivoted.unsubscribe_count > 0 as is_unsubscribed,
        pivoted.spam_complaint_count > 0 as is_spam_complaint,

        -- timestamps
        campaigns.sent_at as campaign_sent_at,
        pivoted.first_sent_at,
        pivoted.first_opened_at,
        pivoted.first_clicked_at,
        pivoted.last_event_at,
        {{ loaded_at() }} as loaded_at
    from pivoted
    left join campaigns
        on pivoted.campaign_id = campaigns.campaign_id
    left join customers_merged
        on pivoted.customer_id = customers_merged.customer_id

)

select * from final
