-- one row per source customer_id and change of the person it belongs to (the first row
-- when the record is first seen): tells incremental models whose events to re-attribute
{{ config(materialized='incremental', incremental_strategy='append') }}

with

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

{% if is_incremental() %}

    latest as (

        select
            customer_id,
            person_id
        from (
            select
                customer_id,
                person_id,
                row_number() over (partition by customer_id order by loaded_at desc) as change_rank
            from {{ this }}
        ) as changes
        where change_rank = 1

    ),

    changed as (

        select
            customers_merged.customer_id,
            customers_merged.person_id,
            latest.person_id as previous_person_id
        from customers_merged
        left join latest
            on customers_merged.customer_id = latest.customer_id
        where latest.person_id is distinct from customers_merged.person_id

    ),

{% else %}

    changed as (

        select
            customer_id,
            person_id,
            cast(null as string) as previous_person_id
        from customers_merged

    ),

{% endif %}

final as (

    select
        -- ids
        customer_id,
        person_id,
        previous_person_id,

        -- timestamps
        {{ loaded_at() }} as loaded_at
    from changed

)

select * from final
