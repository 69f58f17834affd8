{#- Fails with one row per recommendation of a product the person already bought (as of
    as_of), unless its category is repeatable (var recommendation_repeatable_categories). -#}
{% test recommends_no_bought_product(model) %}

select
    recommendations.person_id,
    recommendations.product_id
from {{ model }} as recommendations
inner join {{ ref('int_person_product_events') }} as events
    on
        recommendations.person_id = events.person_id
        and recommendations.product_id = events.product_id
where
    events.interaction = 'purchase'
    and events.occurred_at <= {{ as_of() }}
    and not {{ is_repeatable_category('events.category') }}

{% endtest %}
