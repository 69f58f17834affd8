-- every raw e-mail event delivery, typed, with its contract check
{%- set typing = raw_typing('email_events') %}
with

source as (

    select * from {{ source('raw', 'email_events') }}

),

renamed as (

    select
        -- ids
        cast(event_id as string) as event_id,
        cast(customer_id as string) as customer_id,
        cast(campaign_id as string) as campaign_id,

        -- strings
        lower(trim(cast(event_type as string))) as event_type,

        -- timestamps
        {{ raw_cast(typing, 'occurred_at') }} as occurred_at,
        {{ raw_cast(typing, 'received_at') }} as received_at,

        -- contract verdict on the types
        {{ raw_type_violation(typing) }} as invalid_type_reason,

        -- lineage
        {{ row_as_json('source') }} as raw_record

    from source

),

validated as (

    select
        *,
        event_id as record_key,
        case
            when invalid_type_reason is not null then invalid_type_reason
            when event_id is null or customer_id is null or occurred_at is null then 'null_key'
            when event_type is null or event_type not in (
                {{ raw_accepted_values('email_events', 'event_type') }}
            ) then 'unknown_event_type'
            when occurred_at > {{ as_of() }} then 'future_timestamp'
        end as reject_reason
    from renamed

)

select * from validated
