-- one row per order: status, line totals, returns and net revenue; incremental: a run
-- writes again the orders priced since its last run and those of customers whose person
-- changed (everything after a reload of int_orders_priced)
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{{ delete_on_upstream_reload() }}",
) }}
-- depends_on: {{ ref('int_customers_identity_tracked') }}
-- depends_on: {{ ref('audit_load_manifest') }}
{%- set window = load_window(this.identifier) if is_incremental() else {} %}

with

{% if is_incremental() and not window.is_upstream_reloaded %}

    orders as (

        select * from {{ ref('int_orders_priced') }}
        where loaded_at > {{ window.last_loaded_at }}

        union all

        select * from {{ ref('int_orders_priced') }}
        where
            loaded_at <= {{ window.last_loaded_at }}
            and customer_id in (
                select identity_changes.customer_id
                from {{ ref('int_customers_identity_tracked') }} as identity_changes
                where identity_changes.loaded_at > {{ window.last_loaded_at }}
            )

    ),

{% else %}

    orders as (

        select * from {{ ref('int_orders_priced') }}

    ),

{% endif %}

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

),

final as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,
        customers_merged.person_id,

        -- strings
        orders.status,
        orders.currency,

        -- numerics
        cast(orders.line_count as bigint) as line_count,
        cast(orders.item_quantity as bigint) as item_quantity,
        cast(orders.returned_quantity as bigint) as returned_quantity,
        cast(orders.gross_revenue as decimal(18, 2)) as gross_revenue,
        cast(orders.discount_amount as decimal(18, 2)) as discount_amount,
        cast(orders.returned_amount as decimal(18, 2)) as returned_amount,
        cast(orders.net_revenue as decimal(18, 2)) as net_revenue,

        -- booleans
        orders.is_completed,
        orders.has_return_lines,
        orders.discount_amount > 0 as has_discount,

        -- dates
        cast(orders.ordered_at as date) as order_date,

        -- timestamps
        orders.ordered_at,
        orders.updated_at,
        {{ loaded_at() }} as loaded_at
    from orders
    left join customers_merged
        on orders.customer_id = customers_merged.customer_id

)

select * from final
