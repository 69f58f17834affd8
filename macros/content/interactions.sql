{#- The content models (models/marts/content, docs/content.md) are computed at a cutoff: as_of
    for what the e-mails show, as_of minus recommendation_evaluation_days for the offline
    evaluation. Each macro below reads only interactions at or before its cutoff. -#}

{#- Every product interaction up to `cutoff` with its weight (seed affinity_weights) decayed
    to the cutoff (half-life var affinity_half_life_days). -#}
{% macro weighted_product_interactions(cutoff) -%}
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
    where events.occurred_at <= {{ cutoff }}
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
