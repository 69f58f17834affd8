-- every raw order row, typed, with its contract check
with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        -- ids
        cast(order_id as varchar) as order_id,
        cast(customer_id as varchar) as customer_id,

        -- strings
        lower(trim(cast(status as varchar))) as status,
        upper(trim(cast(currency as varchar))) as currency,

        -- timestamps
        cast(ordered_at as timestamp) as ordered_at,
        cast(updated_at as timestamp) as updated_at,

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
            when order_id is null or customer_id is null or ordered_at is null then 'null_key'
            when status is null or status not in (
                {{ raw_accepted_values('orders', 'status') }}
            ) then 'unknown_event_type'
            when ordered_at > {{ as_of() }} then 'future_timestamp'
        end as reject_reason
    from renamed

)

select * from validated
