-- one row per order: the latest valid version; incremental by raw file (the body: macro
-- file_loaded_versions in macros/incremental_files.sql)
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=incremental_strategy(),
    full_refresh=rebuild_every_run(),
    on_schema_change='fail',
    pre_hook="{{ delete_on_raw_file_reload() }}",
) }}
-- depends_on: {{ ref('audit_load_manifest') }}

with

{{ file_loaded_versions(
    base_model='base_raw__orders',
    key_columns=['order_id'],
    columns=['order_id', 'customer_id', 'status', 'currency', 'ordered_at', 'updated_at'],
    order_by='updated_at desc nulls last, status asc, ordered_at desc, customer_id asc, currency asc',
    time_column='ordered_at',
) }},

final as (

    select
        -- ids
        order_id,
        customer_id,

        -- strings
        status,
        currency,

        -- timestamps
        ordered_at,
        updated_at,
        loaded_at
    from current_rows

)

select * from final
