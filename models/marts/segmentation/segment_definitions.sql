-- one row per segment definition (macros/segments/segment_definitions.sql), for BI and tests
with

definitions as (

    {{ segment_definitions_relation() }}

)

select * from definitions
