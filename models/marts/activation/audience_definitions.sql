-- one row per audience: the definitions in _activation__audiences.yml (macro
-- audience_definitions_relation), validated at on-run-start
with

definitions as (

    {{ audience_definitions_relation() }}

)

select * from definitions
