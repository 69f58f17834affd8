-- every raw customer row, typed, with its contract check
{%- set typing = raw_typing('customers') %}
with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select
        -- ids
        cast(customer_id as string) as customer_id,

        -- strings
        cast(email as string) as email_raw,
        nullif(lower(trim(cast(email as string))), '') as email,
        nullif(trim(cast(first_name as string)), '') as first_name,
        nullif(trim(cast(last_name as string)), '') as last_name,
        nullif(lower(trim(cast(gender as string))), '') as gender,
        nullif(trim(cast(city as string)), '') as city,
        nullif(trim(cast(country as string)), '') as country,

        -- dates
        {{ raw_cast(typing, 'birth_date') }} as birth_date,

        -- timestamps
        {{ raw_cast(typing, 'signup_at') }} as signup_at,
        {{ raw_cast(typing, 'updated_at') }} as updated_at,

        -- contract verdict on the types
        {{ raw_type_violation(typing) }} as invalid_type_reason,

        -- lineage
        {{ row_as_json('source') }} as raw_record

    from source

),

validated as (

    select
        *,
        customer_id as record_key,
        case
            when invalid_type_reason is not null then invalid_type_reason
            when customer_id is null then 'null_key'
            when signup_at > {{ as_of() }} then 'future_timestamp'
        end as reject_reason
    from renamed

)

select * from validated
