-- one row per person whose web events this run may move away: the persons the events of
-- the visitors int_web_visitors_touched lists belonged to before this run (empty when
-- int_web_events_sessionized is built whole). Runs before int_web_events_sessionized and reads
-- it as its last run left it (as int_web_visitors_touched does), so that a person who loses
-- every web event is still recomputed in int_people_web_state
{{ config(materialized='table') }}
-- depends_on: {{ ref('audit_load_manifest') }}
{%- set window = load_window('int_web_events_sessionized') %}
{%- set sessionized = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_web_events_sessionized') if execute else none %}

with

touched_visitors as (

    select * from {{ ref('int_web_visitors_touched') }}

),

{% if sessionized is not none and window.is_built %}

    previous_people as (

        select distinct built.person_id
        from {{ sessionized }} as built
        where
            built.person_id is not null
            and built.visitor_id in (select touched_visitors.visitor_id from touched_visitors)

    ),

{% else %}

    previous_people as (

        select cast(null as {{ dbt.type_string() }}) as person_id
        from touched_visitors
        where false

    ),

{% endif %}

final as (

    select person_id from previous_people

)

select * from final
