-- every raw web event delivery, typed, with its contract check
{%- set typing = raw_typing('web_events') %}
with

source as (

    select * from {{ source('raw', 'web_events') }}

),

renamed as (

    select
        -- ids
        cast(event_id as string) as event_id,
        cast(anonymous_id as string) as anonymous_id,
        cast(customer_id as string) as customer_id,
        cast(product_id as string) as product_id,

        -- strings
        lower(trim(cast(event_type as string))) as event_type,
        cast(page_url as string) as page_url,

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
            when event_id is null or occurred_at is null then 'null_key'
            when anonymous_id is null and customer_id is null then 'null_key'
            when event_type is null or event_type not in (
                {{ raw_accepted_values('web_events', 'event_type') }}
            ) then 'unknown_event_type'
            when occurred_at > {{ as_of() }} then 'future_timestamp'
        end as reject_reason
    from renamed

)

select * from validated
