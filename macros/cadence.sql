{#- The refit cadence of the fits kept between runs (the content fit, the prediction models):
    a fit is due when its oldest stamp is `every_days` or more before as_of, when its newest
    is after as_of (as_of moved back: never use a fit from the future), or when the cadence is
    0. `oldest` and `newest`: the stamps as text, 'YYYY-MM-DD HH:MM:SS...'. -#}
{% macro refit_is_due(oldest, newest, every_days) -%}
    {%- if every_days | int <= 0 or oldest is none or newest is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set parse = modules.datetime.datetime.fromisoformat -%}
    {%- set now = parse(as_of_literal()[:19]) -%}
    {%- set age = now - parse(oldest[:19]) -%}
    {{ return(parse(newest[:19]) > now or age.days >= every_days | int) }}
{%- endmacro %}

{#- The relation a model left in the warehouse, found by its name in the graph (for a model
    downstream, which a ref would make a cycle), or none before its first build. -#}
{% macro built_relation_of(model_name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model_name -%}
        {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
