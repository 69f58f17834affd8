-- one row per person with an e-mail event:
-- what of their e-mail activity does not depend on as_of: last times, the unsubscribe,
-- bounce and complaint flags and the decayed e-mail score at score_reference_at.
-- int_customers_activity_summarized and int_customers_engagement_scored project it to as_of.
-- Incremental: a run recomputes from their whole history the persons with an e-mail event
-- staged since its last run and those whose records changed person; every person when the
-- weights or the half-life changed (state_config)
{{ config(
    materialized='incremental',
    unique_key='person_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    post_hook="{% if is_incremental() %}delete from {{ this }} where email_event_count = 0{% endif %}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
{%- set state_config = person_state_config('email') %}
{%- set recompute_some = is_incremental() and not person_state_is_stale(this, state_config) %}

with

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

weights as (

    select * from {{ ref('engagement_weights') }}
    where event_source = 'email'

),

{% if recompute_some %}

    {%- set since = load_window(this.identifier).last_loaded_at %}

    touched as (

        select customers_merged.person_id
        from {{ ref('stg_raw__email_events') }} as new_events
        inner join customers_merged
            on new_events.customer_id = customers_merged.customer_id
        where new_events.loaded_at > {{ since }}

        union

        {{ persons_with_identity_changes(since) }}

    ),

{% endif %}

email_events as (

    select
        customer_id,
        event_type,
        occurred_at
    from {{ ref('stg_raw__email_events') }}
    {%- if recompute_some %}
        where customer_id in (
            select customers_merged.customer_id from customers_merged
            where customers_merged.person_id in (select touched.person_id from touched)
        )
    {%- endif %}

),

email as (

    select
        customers_merged.person_id,
        count(*) as email_event_count,
        max(case when email_events.event_type = 'open' then email_events.occurred_at end)
            as last_email_open_at,
        max(case when email_events.event_type = 'click' then email_events.occurred_at end)
            as last_email_click_at,
        max(email_events.occurred_at) as last_email_event_at,
        count(case when email_events.event_type = 'unsubscribe' then 1 end) > 0 as has_unsubscribed,
        count(case when email_events.event_type = 'bounce' then 1 end) > 0 as has_bounced,
        count(case when email_events.event_type = 'spam_complaint' then 1 end) > 0 as has_spam_complaint,
        sum({{ person_state_decayed('weights.weight', 'email_events.occurred_at') }}) as email_score_at_reference
    from email_events
    inner join customers_merged
        on email_events.customer_id = customers_merged.customer_id
    left join weights
        on email_events.event_type = weights.event_type
    group by customers_merged.person_id

),

people as (

    {{ person_state_people(recompute_some, 'touched', 'email') }}

),

final as (

    select
        -- ids
        people.person_id,

        -- strings
        '{{ state_config }}' as state_config,

        -- numerics
        cast(coalesce(email.email_event_count, 0) as bigint) as email_event_count,
        -- unrounded: int_customers_engagement_scored decays it to as_of and rounds
        coalesce(email.email_score_at_reference, 0.0) as email_score_at_reference,

        -- booleans
        coalesce(email.has_unsubscribed, false) as has_unsubscribed,
        coalesce(email.has_bounced, false) as has_bounced,
        coalesce(email.has_spam_complaint, false) as has_spam_complaint,

        -- timestamps
        email.last_email_open_at,
        email.last_email_click_at,
        email.last_email_event_at,
        {{ as_of() }} as score_reference_at,
        {{ loaded_at() }} as loaded_at
    from people
    left join email
        on people.person_id = email.person_id

)

select * from final
