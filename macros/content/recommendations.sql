{#- The recommendation CTEs (docs/content.md), spliced into a model's `with`: they end in a
    CTE named `<name>` with one row per person (of `people`) and rank 1..recommendation_count.
    Inputs are CTE or relation names: `interactions` (weighted_product_interactions at the
    cutoff), `associations` (product_association_scores at the cutoff), `favourites` (person_id,
    category: the favourite category at the cutoff), `people` (person_id), and `cutoff`.
    `sources` picks the candidate sources:
      co_occurrence        the associated products of the person's recommendation_seed_products
                           top products (by decayed weight), scored by weight x association;
      category_popularity  the most bought products of the favourite category;
      popularity           the most bought products.
    With co_occurrence, candidates rank by a blend: co-occurrence score over the person's
    best + recommendation_popularity_weight x popularity prior (buyers over the top buyers of
    the favourite category, or of all products); without it, by source, then buyers.
    What the person bought is left out unless its category is repeatable
    (var recommendation_repeatable_categories). Popularity is distinct buyers in the
    recommendation_popularity_days before the cutoff. -#}
{% macro recommendation_ctes(name, interactions, associations, favourites, people, cutoff, sources) -%}
    {%- set count = var('recommendation_count') -%}
    {{ name }}_person_products as (

        select
            interactions.person_id,
            interactions.product_id,
            max(interactions.category) as category,
            sum(interactions.decayed_weight) as seed_weight,
            max(case when interactions.interaction = 'purchase' then 1 else 0 end) = 1 as is_purchased
        from {{ interactions }} as interactions
        inner join {{ people }} as people
            on interactions.person_id = people.person_id
        group by interactions.person_id, interactions.product_id

    ),

    {{ name }}_excluded as (

        select person_id, product_id
        from {{ name }}_person_products
        where is_purchased and not {{ is_repeatable_category('category') }}

    ),

    {{ name }}_popular as (

        select
            product_id,
            category,
            buyer_count,
            row_number() over (order by buyer_count desc, product_id asc) as global_rank,
            row_number() over (
                partition by category order by buyer_count desc, product_id asc
            ) as category_rank
        from (
            select product_id, max(category) as category, count(distinct person_id) as buyer_count
            from {{ interactions }}
            where
                interaction = 'purchase'
                and occurred_at > {{ dbt.dateadd('day', -1 * var('recommendation_popularity_days'), cutoff) }}
            group by product_id
        ) as bought

    ),

    {{ name }}_candidates as (

        {%- set parts = [] %}
        {%- if 'co_occurrence' in sources %}
            {%- do parts.append('co') %}
            select
                person_id,
                product_id,
                1 as source_order,
                'co_occurrence' as recommendation_source,
                score,
                concat(
                    case when co_bought_baskets > 0 then 'co_bought_with:' else 'viewed_then_bought:' end,
                    seed_product_id
                ) as reason
            from (
                select
                    contributions.*,
                    sum(contribution) over (partition by person_id, product_id) as score,
                    row_number() over (
                        partition by person_id, product_id
                        order by contribution desc, seed_product_id asc
                    ) as seed_order
                from (
                    select
                        seeds.person_id,
                        associations.associated_product_id as product_id,
                        seeds.product_id as seed_product_id,
                        associations.co_bought_baskets,
                        seeds.seed_weight * associations.association_score as contribution
                    from (
                        select *
                        from (
                            select
                                {{ name }}_person_products.*,
                                row_number() over (
                                    partition by person_id order by seed_weight desc, product_id asc
                                ) as seed_rank
                            from {{ name }}_person_products
                        ) as ranked_seeds
                        where seed_rank <= {{ var('recommendation_seed_products') }}
                    ) as seeds
                    inner join {{ associations }} as associations
                        on seeds.product_id = associations.product_id
                ) as contributions
            ) as co_scored
            where seed_order = 1
        {%- endif %}
        {%- if 'category_popularity' in sources %}
            {% if parts %}union all{% endif %}
            {%- do parts.append('category') %}
            select
                favourites.person_id,
                popular.product_id,
                2 as source_order,
                'category_popularity' as recommendation_source,
                cast(popular.buyer_count as double) as score,
                concat('popular_in:', popular.category) as reason
            from {{ favourites }} as favourites
            inner join {{ people }} as people
                on favourites.person_id = people.person_id
            inner join {{ name }}_popular as popular
                on favourites.category = popular.category
            where popular.category_rank <= {{ count * 2 }}
        {%- endif %}
        {%- if 'popularity' in sources %}
            {% if parts %}union all{% endif %}
            select
                people.person_id,
                popular.product_id,
                3 as source_order,
                'popularity' as recommendation_source,
                cast(popular.buyer_count as double) as score,
                'popular' as reason
            from {{ people }} as people
            cross join {{ name }}_popular as popular
            where popular.global_rank <= {{ count * 2 }}
        {%- endif %}

    ),

    {{ name }}_eligible as (

        -- one row per person and candidate product not excluded: the best source's reason,
        -- the co-occurrence score (null when none) and the popularity prior: distinct buyers
        -- over the most bought product of its category when it is the person's favourite
        -- category, else over the most bought product
        select
            eligible.person_id,
            eligible.product_id,
            eligible.source_order,
            eligible.recommendation_source,
            eligible.reason,
            eligible.score,
            eligible.co_occurrence_score,
            coalesce(
                case
                    when popular.category = favourites.category
                        then cast(popular.buyer_count as double) / popular.category_max_buyers
                    else cast(popular.buyer_count as double) / popular.max_buyers
                end,
                0
            ) as popularity_prior
        from (
            select
                candidates.*,
                max(case when candidates.source_order = 1 then candidates.score end) over (
                    partition by candidates.person_id, candidates.product_id
                ) as co_occurrence_score,
                row_number() over (
                    partition by candidates.person_id, candidates.product_id
                    order by candidates.source_order asc, candidates.score desc
                ) as candidate_order
            from {{ name }}_candidates as candidates
            left join {{ name }}_excluded as excluded
                on
                    candidates.person_id = excluded.person_id
                    and candidates.product_id = excluded.product_id
            where excluded.person_id is null
        ) as eligible
        left join (
            select
                {{ name }}_popular.*,
                max(buyer_count) over () as max_buyers,
                max(buyer_count) over (partition by category) as category_max_buyers
            from {{ name }}_popular
        ) as popular
            on eligible.product_id = popular.product_id
        left join {{ favourites }} as favourites
            on eligible.person_id = favourites.person_id
        where eligible.candidate_order = 1

    ),

    {{ name }} as (

        -- with co-occurrence: co-occurrence score / the person's best one, plus
        -- recommendation_popularity_weight x the popularity prior; the popularity methods
        -- alone rank by source (favourite category first), then buyers
        select
            person_id,
            product_id,
            recommendation_source,
            reason,
            score,
            recommendation_rank
        from (
            select
                blended.*,
                row_number() over (
                    partition by person_id
                    {%- if 'co_occurrence' in sources %}
                        order by score desc, product_id asc
                    {%- else %}
                        order by source_order asc, score desc, product_id asc
                    {%- endif %}
                ) as recommendation_rank
            from (
                select
                    person_id,
                    product_id,
                    source_order,
                    recommendation_source,
                    reason,
                    {%- if 'co_occurrence' in sources %}
                        coalesce(
                            co_occurrence_score
                            / max(co_occurrence_score) over (partition by person_id),
                            0
                        )
                        + {{ var('recommendation_popularity_weight') }} * popularity_prior as score
                    {%- else %}
                        score
                    {%- endif %}
                from {{ name }}_eligible
            ) as blended
        ) as ranked
        where recommendation_rank <= {{ count }}

    )
{%- endmacro %}
