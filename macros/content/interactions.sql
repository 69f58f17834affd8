{#- The content models (models/marts/content, docs/content.md) are computed at a cutoff: as_of
    for what the e-mails show, as_of minus recommendation_evaluation_days for the offline
    evaluation. Each macro below reads only interactions at or before its cutoff. -#}

{#- Every product interaction up to `cutoff` with its weight (seed affinity_weights) decayed
    to the cutoff (half-life var affinity_half_life_days); `people`: only the people of that
    relation or CTE (person_id). -#}
{% macro weighted_product_interactions(cutoff, people=none) -%}
    select
        events.person_id,
        events.product_id,
        events.basket_id,
        events.interaction,
        events.category,
        events.brand,
        events.occurred_at,
        {{ half_life_decay('weights.weight', 'events.occurred_at', cutoff, var('affinity_half_life_days')) }}
            as decayed_weight
    from {{ ref('int_person_product_events') }} as events
    inner join {{ ref('affinity_weights') }} as weights
        on events.interaction = weights.interaction
    where
        events.occurred_at <= {{ cutoff }}
        {%- if people %}
            and events.person_id in (select person_id from {{ people }})
        {%- endif %}
{%- endmacro %}

{#- One row per person, affinity_type (category, brand) and value: decayed weight, its share
    of the person's total for that type, rank (1 = favourite; ties by name). `interactions`
    names a relation or CTE of weighted_product_interactions. -#}
{% macro affinity_scores(interactions) -%}
    select
        by_value.*,
        by_value.affinity_weight
        / sum(by_value.affinity_weight) over (
            partition by by_value.person_id, by_value.affinity_type
        ) as affinity_share,
        -- bigint on both engines (Spark's row_number is an int)
        cast(row_number() over (
            partition by by_value.person_id, by_value.affinity_type
            order by by_value.affinity_weight desc, by_value.affinity_value asc
        ) as bigint) as affinity_rank
    from (
        {%- for affinity_type in ['category', 'brand'] %}
            select
                person_id,
                '{{ affinity_type }}' as affinity_type,
                {{ affinity_type }} as affinity_value,
                sum(decayed_weight) as affinity_weight,
                count(*) as interaction_count,
                max(occurred_at) as last_interaction_at
            from {{ interactions }}
            where {{ affinity_type }} is not null
            group by person_id, {{ affinity_type }}
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as by_value
{%- endmacro %}

{#- A SQL condition: `column` is one of var recommendation_repeatable_categories. -#}
{% macro is_repeatable_category(column) -%}
    {%- set categories = var('recommendation_repeatable_categories') -%}
    {%- if categories | length == 0 -%}
        false
    {%- else -%}
        coalesce({{ column }} in (
            {%- for category in categories %}{{ sql_string(category) }}{% if not loop.last %}, {% endif %}{% endfor -%}
        ), false)
    {%- endif -%}
{%- endmacro %}

{#- One row per person with interactions: the favourite category (customer_affinities rank 1),
    the merge field and the key of the recommendations' popularity lists. -#}
{% macro favourite_categories() -%}
    select
        person_id,
        affinity_value as favourite_category
    from {{ ref('customer_affinities') }}
    where affinity_type = 'category' and affinity_rank = 1
{%- endmacro %}

{#- The people whose product interactions may have changed since `since` (a load_window
    last_loaded_at literal): a web event written since, the earlier owners of re-attributed
    visitors (int_web_people_touched), an order written since (new, changed, cancelled or
    moved: fct_orders), an identity change. The incremental content models recompute these. -#}
{% macro content_people_touched(since) -%}
    select person_id from {{ ref('int_web_events_sessionized') }}
    where loaded_at > {{ since }} and person_id is not null

    union

    select person_id from {{ ref('int_web_people_touched') }}

    union

    select person_id from {{ ref('fct_orders') }}
    where loaded_at > {{ since }} and person_id is not null

    union

    {{ persons_with_identity_changes(since) }}
{%- endmacro %}

{#- A digest of the product catalogue (stg_raw__products: id, name, category, brand, price),
    hashed here, not in SQL: the same text on every engine (Spark has no ordered listagg), and
    a catalogue is small. 'none' before it is built (parsing, sqlfluff). -#}
{% macro product_catalogue_digest() -%}
    {%- set relation = ref('stg_raw__products') -%}
    {%- if not execute or load_relation(relation) is none -%}
        {{ return('none') }}
    {%- endif -%}
    {%- set columns = ['product_id', 'product_name', 'category', 'brand', 'price'] -%}
    {#- cast in SQL: every engine's driver then hands over the same text (a decimal's scale,
        an integer's form) -#}
    {%- set texts = [] -%}
    {%- for column in columns -%}
        {%- do texts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {%- set rows = run_query(
        "select " ~ texts | join(", ") ~ " from " ~ relation ~ " order by " ~ columns | join(", ")
    ).rows -%}
    {%- set lines = [] -%}
    {%- for row in rows -%}
        {%- do lines.append(row.values() | join('|')) -%}
    {%- endfor -%}
    {{ return(local_md5(lines | join('\n'))) }}
{%- endmacro %}

{#- int_person_product_events: does this run recompute only the touched people? Not on a
    full build, after an upstream reload (rows may have gone without touching anyone), or
    when the catalogue changed. -#}
{% macro person_product_events_recompute_some() -%}
    {%- if not is_incremental() or load_window(this.identifier).is_upstream_reloaded -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set stored = run_query("select max(catalogue_digest) from " ~ this).columns[0].values()[0] -%}
    {{ return(stored is none or stored == product_catalogue_digest()) }}
{%- endmacro %}


{#- The seed affinity_weights as text (interaction=weight, ...): part of the settings the
    content fit and the affinity state were computed with. '' before it is seeded. -#}
{% macro affinity_weights_text() -%}
    {%- set weights = ref('affinity_weights') -%}
    {%- if not execute or load_relation(weights) is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set rows = run_query(
        "select interaction, cast(weight as " ~ dbt.type_string() ~ ") from " ~ weights ~ " order by interaction"
    ).rows -%}
    {{ return(rows | map('list') | map('join', '=') | join(',')) }}
{%- endmacro %}

{#- int_person_affinity_state: does this run recompute only the touched people? Not on a full
    build, after an upstream reload, or when a row was computed with another half-life or
    other weights (state_config). -#}
{% macro affinity_state_recompute_some() -%}
    {%- if not is_incremental() or load_window(this.identifier).is_upstream_reloaded -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(not person_state_is_stale(this, affinity_state_config())) }}
{%- endmacro %}

{% macro affinity_state_config() -%}
    {{ return('half_life_days=' ~ var('affinity_half_life_days') ~ ';weights=' ~ affinity_weights_text()) }}
{%- endmacro %}

{#- The people int_person_affinity_state recomputes: those content_people_touched names, and
    those whose interactions int_person_product_events wrote since (all after its reload). -#}
{% macro affinity_state_people_touched() -%}
    {%- set since = load_window(this.identifier).last_loaded_at -%}
    {{ content_people_touched(since) }}

    union

    select person_id from {{ ref('int_person_product_events') }}
    where loaded_at > {{ since }}
{%- endmacro %}

{#- The pre-hook of a model kept by person (int_person_product_events,
    int_person_affinity_state, customer_recommendations): removes what the run writes again,
    the rows of `people` (a select of person_id) when `recompute_some`, else every row. -#}
{% macro delete_recomputed_people(recompute_some, people) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if recompute_some %}
            where person_id in ({{ people }})
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
