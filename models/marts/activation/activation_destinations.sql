-- one row per destination the audiences are delivered to (_activation__audiences.yml)
with

destinations as (

    {{ destinations_relation() }}

)

select * from destinations
