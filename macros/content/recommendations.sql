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
    recommendation_popularity_days before the cutoff (product_popularity_ranks), or the
    relation `popular` of those ranks when given (product_popularity, the content fit). -#}
{% macro recommendation_ctes(name, interactions, associations, favourites, people, cutoff, sources, popular=none) -%}
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
        {%- if popular %}

        select product_id, category, buyer_count, global_rank, category_rank from {{ popular }}
        {%- else %}

        {{ product_popularity_ranks(interactions, cutoff) }}
        {%- endif %}

    ),

    {%- if 'co_occurrence' in sources %}
    {{ name }}_contributions as (

        -- each seed (the person's top products by decayed weight) x its associated products
        select
            seeds.person_id,
            associations.associated_product_id as product_id,
            seeds.seed_weight * associations.association_score as contribution,
            concat(
                case when associations.co_bought_baskets > 0 then 'co_bought_with:' else 'viewed_then_bought:' end,
                seeds.product_id
            ) as reason
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

    ),

    {{ name }}_co_scores as (

        select
            person_id,
            product_id,
            sum(contribution) as score,
            max(contribution) as best_contribution
        from {{ name }}_contributions
        group by person_id, product_id

    ),

    {{ name }}_co_candidates as (

        -- the reason names the seed that contributed most (ties: co-bought first, then the
        -- smallest product id, as the text sorts)
        select
            co_scores.person_id,
            co_scores.product_id,
            co_scores.score,
            min(contributions.reason) as reason
        from {{ name }}_co_scores as co_scores
        inner join {{ name }}_contributions as contributions
            on
                co_scores.person_id = contributions.person_id
                and co_scores.product_id = contributions.product_id
                and co_scores.best_contribution = contributions.contribution
        group by co_scores.person_id, co_scores.product_id, co_scores.score

    ),
    {%- endif %}

    {{ name }}_popular_scaled as (

        select
            {{ name }}_popular.*,
            max(buyer_count) over () as max_buyers,
            max(buyer_count) over (partition by category) as category_max_buyers
        from {{ name }}_popular

    ),

    {{ name }}_fallback as (

        -- the popularity candidates per favourite category ('' for none): the same for
        -- everyone with that favourite, so ranked once here (by the popularity prior with
        -- co-occurrence, else category first, then buyers) and the best
        -- recommendation_count + 10 kept, room for the products a person bought
        select
            favourite_key,
            product_id,
            source_order,
            buyer_count
        from (
            select
                lists.*,
                row_number() over (
                    partition by favourite_key
                    {%- if 'co_occurrence' in sources %}
                        order by popularity_prior desc, product_id asc
                    {%- else %}
                        order by source_order asc, buyer_count desc, product_id asc
                    {%- endif %}
                ) as list_rank
            from (
                select
                    keys.favourite_key,
                    popular.product_id,
                    {%- if 'category_popularity' in sources %}
                        min(
                            case
                                when popular.category = keys.favourite_key and popular.category_rank <= {{ count * 2 }}
                                    then 2
                                else 3
                            end
                        ) as source_order,
                    {%- else %}
                        3 as source_order,
                    {%- endif %}
                    max(popular.buyer_count) as buyer_count,
                    max(
                        case
                            when popular.category = keys.favourite_key
                                then cast(popular.buyer_count as double) / popular.category_max_buyers
                            else cast(popular.buyer_count as double) / popular.max_buyers
                        end
                    ) as popularity_prior
                from (
                    select distinct coalesce(category, '') as favourite_key from {{ favourites }}
                    union
                    select '' as favourite_key
                ) as keys
                inner join {{ name }}_popular_scaled as popular
                    on
                        {%- if 'category_popularity' in sources %}
                            (popular.category = keys.favourite_key and popular.category_rank <= {{ count * 2 }})
                            or
                        {%- endif %}
                        popular.global_rank <= {{ count * 2 }}
                group by keys.favourite_key, popular.product_id
            ) as lists
        ) as ranked_lists
        where list_rank <= {{ count + 10 }}

    ),

    {{ name }}_candidates as (

        {%- if 'co_occurrence' in sources %}
            select
                person_id,
                product_id,
                1 as source_order,
                score
            from {{ name }}_co_candidates
            union all
        {%- endif %}
        select
            people.person_id,
            fallback.product_id,
            fallback.source_order,
            cast(fallback.buyer_count as double) as score
        from {{ people }} as people
        left join {{ favourites }} as favourites
            on people.person_id = favourites.person_id
        inner join {{ name }}_fallback as fallback
            on coalesce(favourites.category, '') = fallback.favourite_key

    ),

    {{ name }}_eligible as (

        -- one row per person and candidate product not excluded: the best source (lowest
        -- source_order), the co-occurrence score (null when none), the buyers (null when not
        -- popular); numbers only, the reason is added to the rows kept
        select
            candidates.person_id,
            candidates.product_id,
            min(candidates.source_order) as source_order,
            max(case when candidates.source_order = 1 then candidates.score end) as co_occurrence_score,
            -- the popularity sources' score is the product's buyers, the same in both
            max(case when candidates.source_order > 1 then candidates.score end) as buyer_score
        from {{ name }}_candidates as candidates
        left join {{ name }}_excluded as excluded
            on
                candidates.person_id = excluded.person_id
                and candidates.product_id = excluded.product_id
        where excluded.person_id is null
        group by candidates.person_id, candidates.product_id

    ),

    {{ name }}_scored as (

        select
            eligible.person_id,
            eligible.product_id,
            eligible.source_order,
            {%- if 'co_occurrence' in sources %}
                -- co-occurrence score / the person's best + the weight x the popularity prior:
                -- buyers over the most bought product of its category when that is the
                -- person's favourite category, else over the most bought product
                coalesce(eligible.co_occurrence_score / best.best_score, 0)
                + {{ var('recommendation_popularity_weight') }} * coalesce(
                    case
                        when popular.category = favourites.category
                            then cast(popular.buyer_count as double) / popular.category_max_buyers
                        else cast(popular.buyer_count as double) / popular.max_buyers
                    end,
                    0
                ) as score
        from {{ name }}_eligible as eligible
        left join {{ name }}_popular_scaled as popular
            on eligible.product_id = popular.product_id
        left join {{ favourites }} as favourites
            on eligible.person_id = favourites.person_id
        left join (
            -- the best co-occurrence score among the products not excluded
            select person_id, max(co_occurrence_score) as best_score
            from {{ name }}_eligible
            group by person_id
        ) as best
            on eligible.person_id = best.person_id
            {%- else %}
                coalesce(eligible.co_occurrence_score, eligible.buyer_score) as score
        from {{ name }}_eligible as eligible
            {%- endif %}

    ),

    {{ name }} as (

        -- with co-occurrence by the blended score; the popularity methods alone by source
        -- (the favourite category first), then buyers
        select
            ranked.person_id,
            ranked.product_id,
            case ranked.source_order
                when 1 then 'co_occurrence' when 2 then 'category_popularity' else 'popularity'
            end as recommendation_source,
            case ranked.source_order
                {%- if 'co_occurrence' in sources %}
                    when 1 then co_candidates.reason
                {%- endif %}
                when 2 then concat('popular_in:', products.category)
                else 'popular'
            end as reason,
            ranked.score,
            ranked.recommendation_rank
        from (
            select
                {{ name }}_scored.*,
                row_number() over (
                    partition by person_id
                    {%- if 'co_occurrence' in sources %}
                        order by score desc, product_id asc
                    {%- else %}
                        order by source_order asc, score desc, product_id asc
                    {%- endif %}
                ) as recommendation_rank
            from {{ name }}_scored
        ) as ranked
        {%- if 'co_occurrence' in sources %}
            left join {{ name }}_co_candidates as co_candidates
                on
                    ranked.person_id = co_candidates.person_id
                    and ranked.product_id = co_candidates.product_id
        {%- endif %}
        left join (
            select distinct product_id, category from {{ name }}_popular
        ) as products
            on ranked.product_id = products.product_id
        where ranked.recommendation_rank <= {{ count }}

    )
{%- endmacro %}

{#- One row per product bought in the recommendation_popularity_days up to `cutoff`: distinct
    buyers, rank among all products and in its category (ties by product id). `interactions`
    names a relation or CTE of int_person_product_events rows. -#}
{% macro product_popularity_ranks(interactions, cutoff) -%}
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
                and occurred_at <= {{ cutoff }}
                and occurred_at > {{ dbt.dateadd('day', -1 * var('recommendation_popularity_days'), cutoff) }}
            group by product_id
        ) as bought
{%- endmacro %}
