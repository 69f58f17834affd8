{#- Per-person state (docs/incremental.md#per-person-state): int_people_web_state and
    int_people_email_state keep, per person, what of their activity does not depend on as_of
    (counts, last times, the decayed score at a reference time); the features models project
    it to as_of each run. -#}

{#- The settings a state row was computed with: the half-life, the source's weights (the
    engagement_weights seed) and `extra`. A run that finds rows computed with other settings
    recomputes every person (person_state_is_stale). -#}
{% macro person_state_config(event_source, extra='') %}
    {%- set seed = ref('engagement_weights') | string -%}
    {%- if not execute or '__dbt__cte__' in seed or not relation_exists(ref('engagement_weights')) -%}
        {#- parsing, a unit test (its inputs are CTEs, not tables) or a compile before the
            first build: a build seeds first, so a state row never stores this -#}
        {{ return('') }}
    {%- endif -%}
    {%- set weights = run_query(
        "select event_type, cast(weight as " ~ dbt.type_string() ~ ") as weight from "
        ~ seed ~ " where event_source = '" ~ event_source ~ "' order by event_type"
    ) -%}
    {%- set parts = [] -%}
    {%- for row in weights.rows -%}
        {%- do parts.append(row['event_type'] ~ '=' ~ row['weight']) -%}
    {%- endfor -%}
    {{ return('half_life_days=' ~ var('engagement_half_life_days') ~ ';weights=' ~ parts | join(',') ~ extra) }}
{% endmacro %}

{#- True when the incremental model `relation` holds a row computed with other settings than
    `config`: its decayed scores or intent times would not be comparable. -#}
{% macro person_state_is_stale(relation, config) %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set stale = run_query(
        "select count(*) as stale_rows from " ~ relation ~ " where state_config <> '" ~ config ~ "'"
    ) -%}
    {{ return(stale.rows[0]['stale_rows'] > 0) }}
{% endmacro %}

{#- `value` at `reference` decayed to as_of: value * 0.5 ^ (days since reference / half-life).
    The state models sum it over events (weight at occurred_at: the points at this run's
    as_of); the projections apply it to a kept score (at score_reference_at): a sum of
    decayed points at t0 is the same sum at t times 0.5 ^ ((t - t0) / half-life), so the
    people no new event touched need no event read again. -#}
{% macro person_state_decayed(value, reference) -%}
    {{ half_life_decay(value, reference, as_of(), var('engagement_half_life_days')) }}
{%- endmacro %}

{#- The persons a state model writes: every recomputed person, with or without events left
    (the incremental write replaces their rows, the post-hook removes those left without
    events); when the settings changed, everyone computed and everyone kept; in a full build,
    the persons with events. -#}
{% macro person_state_people(recompute_some, touched, computed) -%}
    {%- if recompute_some -%}
        select person_id from {{ touched }}
    {%- elif is_incremental() -%}
        select person_id from {{ computed }}
        union
        select person_id from {{ this }}
    {%- else -%}
        select person_id from {{ computed }}
    {%- endif -%}
{%- endmacro %}
