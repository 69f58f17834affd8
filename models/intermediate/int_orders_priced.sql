-- one row per order: the order with its lines summed into gross, discount, returns and net
-- revenue; incremental: a run prices again the orders whose version or lines were loaded
-- since its last run (everything after a staging reload)
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{{ delete_on_upstream_reload() }}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}
{%- set window = load_window(this.identifier) if is_incremental() else {} %}

with

{% if is_incremental() and not window.is_upstream_reloaded %}

    changed_orders as (

        select order_id from {{ ref('stg_raw__orders') }}
        where loaded_at > {{ window.last_loaded_at }}

        union

        select order_id from {{ ref('stg_raw__order_items') }}
        where loaded_at > {{ window.last_loaded_at }}

    ),

    orders as (

        select * from {{ ref('stg_raw__orders') }}
        where order_id in (select changed_orders.order_id from changed_orders)

    ),

    order_items as (

        select * from {{ ref('stg_raw__order_items') }}
        where order_id in (select changed_orders.order_id from changed_orders)

    ),

{% else %}

    orders as (

        select * from {{ ref('stg_raw__orders') }}

    ),

    order_items as (

        select * from {{ ref('stg_raw__order_items') }}

    ),

{% endif %}

order_totals as (

    select
        order_id,
        -- sums cast back to 64 bits: DuckDB widens them to 128 (hugeint), slower for every
        -- model that reads them and a type Spark and most BI drivers lack
        count(*) as line_count,
        cast(sum(case when not is_return_line then quantity else 0 end) as bigint) as item_quantity,
        cast(sum(case when is_return_line then -quantity else 0 end) as bigint) as returned_quantity,
        cast(
            sum(case when not is_return_line then quantity * unit_price else 0 end) as decimal(18, 4)
        ) as gross_revenue,
        cast(sum(case when not is_return_line then discount else 0 end) as decimal(18, 4)) as discount_amount,
        cast(
            sum(case when is_return_line then -quantity * unit_price - discount else 0 end) as decimal(18, 4)
        ) as returned_amount
    from order_items
    group by order_id

),

priced as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,

        -- strings
        orders.status,
        orders.currency,

        -- numerics
        coalesce(order_totals.line_count, 0) as line_count,
        coalesce(order_totals.item_quantity, 0) as item_quantity,
        coalesce(order_totals.returned_quantity, 0) as returned_quantity,
        coalesce(order_totals.gross_revenue, 0) as gross_revenue,
        coalesce(order_totals.discount_amount, 0) as discount_amount,
        coalesce(order_totals.returned_amount, 0) as returned_amount,
        -- sold lines count only for completed orders; refund lines always reduce revenue
        cast(
            case
                when orders.status = 'completed'
                    then coalesce(order_totals.gross_revenue, 0) - coalesce(order_totals.discount_amount, 0)
                else 0
            end - coalesce(order_totals.returned_amount, 0) as decimal(18, 4)
        ) as net_revenue,

        -- booleans
        orders.status = 'completed' as is_completed,
        coalesce(order_totals.returned_quantity, 0) > 0 as has_return_lines,
        order_totals.order_id is null as has_no_lines,

        -- timestamps
        orders.ordered_at,
        orders.updated_at,
        {{ loaded_at() }} as loaded_at
    from orders
    left join order_totals
        on orders.order_id = order_totals.order_id

)

select * from priced
