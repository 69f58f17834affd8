-- one row per raw file of a table loaded by file (orders, order_items) and change seen:
-- added, replaced (size or modification time differ), removed, or moved (out of one path,
-- into another). The ledger behind their
-- incremental loading (macros/incremental_files.sql); appended to, never rewritten.
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

with

listed as (
    {#- one select per table with files; one empty select when there are none (a union of
        empty constant selects trips Spark's optimizer: PushProjectionThroughUnion) #}
    {%- set patterns = [] %}
    {%- for table_name in file_incremental_tables() %}
        {%- set pattern = raw_table_pattern(table_name) if execute else none %}
        {%- if pattern is not none %}
            {%- do patterns.append((table_name, pattern)) %}
        {%- endif %}
    {%- endfor %}
    {%- for table_name, pattern in patterns %}

        -- read_blob lists the files; it reads no content when none is selected
        select
            '{{ table_name }}' as source_table,
            filename as file_path,
            cast(size as bigint) as file_size,
            cast(last_modified as timestamp) as modified_at
        from read_blob('{{ pattern | replace("'", "''") }}')
        {%- if not loop.last %}

        union all
        {%- endif %}
    {%- else %}

        select
            cast(null as string) as source_table,
            cast(null as string) as file_path,
            cast(null as bigint) as file_size,
            cast(null as timestamp) as modified_at
        where false
    {%- endfor %}

),

{% if is_incremental() %}

    known as (

        -- each file as the ledger last saw it, unless it was removed
        select
            source_table,
            file_path,
            file_size,
            modified_at
        from (
            select
                *,
                row_number() over (
                    partition by source_table, file_path
                    order by observed_at desc
                ) as observation_rank
            from {{ this }}
        ) as observations
        where observation_rank = 1 and change_type not in ('removed', 'moved_out')

    ),

    seen as (

        -- one full join, not a union of the added and the removed (the union, over an
        -- empty listing, trips Spark's optimizer: PushProjectionThroughUnion)
        select
            coalesce(listed.source_table, known.source_table) as source_table,
            coalesce(listed.file_path, known.file_path) as file_path,
            case when listed.file_path is null then known.file_size else listed.file_size end as file_size,
            case when listed.file_path is null then known.modified_at else listed.modified_at end as modified_at,
            case
                when known.file_path is null then 'added'
                when listed.file_path is null then 'removed'
                else 'replaced'
            end as change_type
        from listed
        full outer join known
            on
                listed.source_table = known.source_table
                and listed.file_path = known.file_path
        where
            known.file_path is null
            or listed.file_path is null
            or listed.file_size <> known.file_size
            or listed.modified_at is distinct from known.modified_at

    ),

    changes as (

        -- a file that left one path and appeared at another with the same size and
        -- modification time was moved (a rename keeps both; `segmentation generate --append`
        -- moves a single-file table into its folder): its rows are loaded already
        select
            source_table,
            file_path,
            file_size,
            modified_at,
            case
                when change_type = 'added' and exists (
                    select 1 from seen as other
                    where
                        other.change_type = 'removed'
                        and other.source_table = seen.source_table
                        and other.file_size = seen.file_size
                        and other.modified_at = seen.modified_at
                ) then 'moved_in'
                when change_type = 'removed' and exists (
                    select 1 from seen as other
                    where
                        other.change_type = 'added'
                        and other.source_table = seen.source_table
                        and other.file_size = seen.file_size
                        and other.modified_at = seen.modified_at
                ) then 'moved_out'
                else change_type
            end as change_type
        from seen

    ),

{% else %}

    changes as (

        select
            *,
            'added' as change_type
        from listed

    ),

{% endif %}

final as (

    select
        -- ids
        source_table,
        file_path,

        -- strings
        change_type,

        -- numerics
        file_size,

        -- timestamps
        modified_at,
        {{ loaded_at() }} as observed_at
    from changes

)

select * from final
