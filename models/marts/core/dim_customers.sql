-- one row per person (source records of one person merged): profile, consent, order history
with

customers as (

    select * from {{ ref('stg_raw__customers') }}

),

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

consents as (

    select * from {{ ref('int_consents_resolved') }}
    where channel = 'email'

),

order_summary as (

    select * from {{ ref('int_customers_orders_summarized') }}

),

records as (

    select
        customers_merged.person_id,
        customers.*,
        -- the person's profile comes from their most recently updated record
        row_number() over (
            partition by customers_merged.person_id
            order by customers.updated_at desc, customers.customer_id asc
        ) as profile_rank,
        count(*) over (partition by customers_merged.person_id) as source_record_count,
        min(customers.signup_at) over (partition by customers_merged.person_id) as first_signup_at
    from customers
    inner join customers_merged
        on customers.customer_id = customers_merged.customer_id

),

people as (

    select * from records
    where profile_rank = 1

),

joined as (

    select
        -- ids
        people.person_id,
        people.customer_id as profile_customer_id,

        -- strings
        people.email,
        people.first_name,
        people.last_name,
        people.gender,
        people.city,
        people.country,
        coalesce(consents.consent_status, 'unknown') as email_consent_status,

        -- numerics
        cast(people.source_record_count as bigint) as source_record_count,
        cast(coalesce(order_summary.order_count, 0) as bigint) as order_count,
        cast(coalesce(order_summary.completed_order_count, 0) as bigint) as completed_order_count,
        cast(coalesce(order_summary.cancelled_order_count, 0) as bigint) as cancelled_order_count,
        cast(coalesce(order_summary.returned_order_count, 0) as bigint) as returned_order_count,
        cast(coalesce(order_summary.net_revenue, 0) as decimal(18, 2)) as net_revenue,

        -- booleans
        coalesce(consents.is_opted_in, false) as is_email_opted_in,
        order_summary.person_id is not null as has_ordered,

        -- dates
        people.birth_date,

        -- timestamps
        people.first_signup_at as signup_at,
        consents.consent_changed_at as email_consent_changed_at,
        order_summary.first_ordered_at,
        order_summary.last_ordered_at,
        order_summary.first_completed_order_at,
        order_summary.last_completed_order_at,
        people.updated_at
    from people
    left join consents
        on people.person_id = consents.person_id
    left join order_summary
        on people.person_id = order_summary.person_id

)

select * from joined
