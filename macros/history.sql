{#- Makes a history model run after every reader-facing mart and its tests, so that
    `dbt build` records history only when everything it will publish passed: a failing
    test skips the history models (what runs downstream of a failed test is skipped) and
    the refresh then publishes nothing. One dbt invocation for build and history.
    The reader-facing marts are the models tagged reader_facing. dbt records a model's refs
    while parsing, when the graph (and so the tags) cannot be read yet: the refs are made
    from the names below, and every run checks them against the tag, failing when a model
    gained or lost it without being listed here. -#}
{% macro after_reader_facing_marts() %}
    {%- set marts = [
        'dim_customers', 'fct_orders', 'fct_email_engagement',
        'customer_features', 'customer_segments', 'customer_primary_segment',
        'segment_definitions', 'segment_summary',
        'customer_affinities', 'customer_abandoned_products', 'product_associations', 'product_popularity',
        'customer_recommendations', 'recommendation_evaluation',
    ] -%}
    {#- the cluster models build wherever Python models run (enable_clustering only keeps
        them out of the segments); the prediction models only when enabled -#}
    {%- if runs_python_models() -%}
        {%- do marts.extend(['customer_clusters', 'cluster_centres', 'cluster_profiles', 'cluster_diagnostics']) -%}
    {%- endif -%}
    {%- if predictions_enabled() -%}
        {%- do marts.extend(['clv_model_parameters', 'model_evaluation', 'customer_predictions']) -%}
    {%- endif -%}
    {%- if execute -%}
        {%- set tagged = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and 'reader_facing' in node.tags and node.config.enabled -%}
            {%- do tagged.append(node.name) -%}
        {%- endfor -%}
        {%- if tagged | sort | list != marts | sort | list -%}
            {{ exceptions.raise_compiler_error(
                "The models tagged reader_facing are " ~ tagged | sort | list ~ " but "
                ~ "after_reader_facing_marts() (macros/history.sql) waits for " ~ marts | sort | list
                ~ ": list the tagged models there, so history is recorded only after them.") }}
        {%- endif -%}
    {%- endif -%}
    {%- for mart in marts %}
-- depends_on: {{ ref(mart) }}
    {%- endfor %}
{% endmacro %}

{#- segment_membership_state, which runs after segment_membership_history and so cannot be a
    ref of it (a cycle): the relation beside the history, or none before its first build. -#}
{% macro membership_state_relation() %}
    {{ return(adapter.get_relation(
        database=this.database, schema=this.schema, identifier='segment_membership_state')) }}
{% endmacro %}

{#- Whether segment_membership_state holds what the history last recorded: it exists and
    carries the history's newest stamp (a state model that failed after the history ran
    is older; the history then replays its own rows). -#}
{% macro recorded_state_is_current() %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set state = membership_state_relation() -%}
    {%- if state is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query(
        "select (select max(recorded_at) from " ~ state ~ ") is not distinct from "
        ~ "(select max(recorded_at) from " ~ this ~ ")"
    ) -%}
    {{ return(result.columns[0].values()[0]) }}
{% endmacro %}

{#- The stays in a membership history (rows `entered` / `left` stamped with as_of and
    recorded_at, per `keys`): one row per key and stay, valid_from the as_of of the entry,
    valid_to that of the next exit (null: still in); in at t when valid_from <= t < valid_to.
    An entry repeated without an exit between (a history that recorded a member again, after
    its state was lost) continues the stay; a stay that ends at the as_of it began is none.
    `columns`: further columns of the entry rows to keep. -#}
{% macro history_spans(history, keys, columns=[]) %}
    {%- set partition = keys | join(', ') %}
    select
        {{ (keys + columns) | join(',\n        ') }},
        as_of as valid_from,
        next_left_as_of as valid_to
    from (
        select
            {{ (keys + columns) | join(',\n            ') }},
            change_type,
            as_of,
            lag(change_type) over (
                partition by {{ partition }} order by recorded_at, change_type
            ) as previous_change_type,
            min(case when change_type = 'left' then as_of end) over (
                partition by {{ partition }} order by recorded_at, change_type
                rows between 1 following and unbounded following
            ) as next_left_as_of
        from {{ history }}
    ) as changes
    where
        change_type = 'entered'
        and (previous_change_type is null or previous_change_type = 'left')
        and (next_left_as_of is null or next_left_as_of > as_of)
{% endmacro %}
