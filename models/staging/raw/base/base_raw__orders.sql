-- every raw order row, typed, with its contract check
{%- set typing = raw_typing('orders') %}
with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        -- ids
        cast(order_id as string) as order_id,
        cast(customer_id as string) as customer_id,

        -- strings
        lower(trim(cast(status as string))) as status,
        upper(trim(cast(currency as string))) as currency,

        -- timestamps
        {{ raw_cast(typing, 'ordered_at') }} as ordered_at,
        {{ raw_cast(typing, 'updated_at') }} as updated_at,

        -- contract verdict on the types
        {{ raw_type_violation(typing) }} as invalid_type_reason,

        -- lineage
        {{ row_as_json('source') }} as raw_record,
        {{ raw_source_file('source') }} as source_file

    from source

),

validated as (

    select
        *,
        order_id as record_key,
        case
            when invalid_type_reason is not null then invalid_type_reason
            when order_id is null or customer_id is null or ordered_at is null then 'null_key'
            when status is null or status not in (
                {{ raw_accepted_values('orders', 'status') }}
            ) then 'unknown_event_type'
            when ordered_at > {{ as_of() }} then 'future_timestamp'
        end as reject_reason
    from renamed

)

select * from validated
