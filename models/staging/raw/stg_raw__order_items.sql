-- one row per order line (order_id, line_number): the latest valid version; incremental by
-- raw file (the body: macro file_loaded_versions in macros/incremental_files.sql)
{{ config(
    materialized='incremental',
    unique_key=['order_id', 'line_number'],
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{{ delete_on_raw_file_reload() }}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}

with

{{ file_loaded_versions(
    base_model='base_raw__order_items',
    key_columns=['order_id', 'line_number'],
    columns=['order_id', 'product_id', 'line_number', 'quantity', 'unit_price', 'discount'],
    order_by='quantity desc, unit_price desc, product_id asc, discount asc',
) }},

final as (

    select
        -- ids
        order_id,
        product_id,

        -- numerics
        line_number,
        quantity,
        unit_price,
        discount,

        -- booleans
        quantity < 0 as is_return_line,

        -- timestamps
        loaded_at
    from current_rows

)

select * from final
