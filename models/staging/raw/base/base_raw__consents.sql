-- every raw consent change, typed, with its contract check
{%- set typing = raw_typing('consents') %}
with

source as (

    select * from {{ source('raw', 'consents') }}

),

renamed as (

    select
        -- ids
        cast(customer_id as string) as customer_id,

        -- strings
        lower(trim(cast(channel as string))) as channel,
        lower(trim(cast(status as string))) as status,
        cast(source as string) as consent_source,

        -- timestamps
        {{ raw_cast(typing, 'changed_at') }} as changed_at,

        -- contract verdict on the types
        {{ raw_type_violation(typing) }} as invalid_type_reason,

        -- lineage
        {{ row_as_json('source') }} as raw_record

    from source

),

validated as (

    select
        *,
        customer_id || '-' || channel || '-' || {{ timestamp_to_iso('changed_at') }} as record_key,
        case
            when invalid_type_reason is not null then invalid_type_reason
            when customer_id is null or channel is null or changed_at is null then 'null_key'
            when status is null or status not in (
                {{ raw_accepted_values('consents', 'status') }}
            ) then 'unknown_event_type'
            when changed_at > {{ as_of() }} then 'future_timestamp'
        end as reject_reason
    from renamed

)

select * from validated
