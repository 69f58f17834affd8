-- one row per source customer_id: profile, e-mail consent and order history
with

customers as (

    select * from {{ ref('stg_raw__customers') }}

),

consents as (

    select * from {{ ref('int_consents_resolved') }}
    where channel = 'email'

),

order_summary as (

    select * from {{ ref('int_customers_orders_summarized') }}

),

joined as (

    select
        -- ids
        customers.customer_id,

        -- strings
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.gender,
        customers.city,
        customers.country,
        coalesce(consents.consent_status, 'unknown') as email_consent_status,

        -- numerics
        cast(coalesce(order_summary.order_count, 0) as bigint) as order_count,
        cast(coalesce(order_summary.completed_order_count, 0) as bigint) as completed_order_count,
        cast(coalesce(order_summary.cancelled_order_count, 0) as bigint) as cancelled_order_count,
        cast(coalesce(order_summary.returned_order_count, 0) as bigint) as returned_order_count,
        cast(coalesce(order_summary.net_revenue, 0) as decimal(18, 2)) as net_revenue,

        -- booleans
        coalesce(consents.is_opted_in, false) as is_email_opted_in,
        order_summary.customer_id is not null as has_ordered,

        -- dates
        customers.birth_date,

        -- timestamps
        customers.signup_at,
        consents.consent_changed_at as email_consent_changed_at,
        order_summary.first_ordered_at,
        order_summary.last_ordered_at,
        order_summary.first_completed_order_at,
        order_summary.last_completed_order_at,
        customers.updated_at
    from customers
    left join consents
        on customers.customer_id = consents.customer_id
    left join order_summary
        on customers.customer_id = order_summary.customer_id

)

select * from joined
