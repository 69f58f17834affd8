{#- Item-to-item associations at `cutoff` (docs/content.md): one row per product and
    associated product, from the purchase baskets (orders) before the cutoff:
    - co_bought_baskets: baskets with both (a basket counts at most
      recommendation_max_basket_products products, picked by a hash, so big baskets do not
      explode into pairs);
    - viewed_then_bought_baskets: baskets buying the associated product whose buyer viewed
      the product in the recommendation_view_window_hours before and did not buy it there;
    - association_score: support / sqrt(baskets of the product x baskets of the associated one)
      (a cosine: popular products do not pair with everything);
    kept when support >= recommendation_min_pair_support, the best recommendation_neighbours
    per product. `interactions` names a relation or CTE of int_person_product_events rows. -#}
{% macro product_association_scores(interactions, cutoff) -%}
    {%- set max_basket = var('recommendation_max_basket_products') -%}
    with

    basket_lines as (

        select distinct person_id, basket_id, product_id, occurred_at
        from {{ interactions }}
        where interaction = 'purchase' and occurred_at <= {{ cutoff }}

    ),

    basket_products as (

        select basket_id, person_id, product_id, occurred_at
        from (
            select
                basket_lines.*,
                row_number() over (
                    partition by basket_id
                    order by {{ dbt.hash("concat(basket_id, '|', product_id)") }}, product_id
                ) as basket_position
            from basket_lines
        ) as positioned
        where basket_position <= {{ max_basket }}

    ),

    baskets as (

        select distinct basket_id, person_id, occurred_at from basket_products

    ),

    co_bought as (

        select
            bought.product_id,
            also_bought.product_id as associated_product_id,
            count(*) as co_bought_baskets,
            0 as viewed_then_bought_baskets
        from basket_products as bought
        inner join basket_products as also_bought
            on
                bought.basket_id = also_bought.basket_id
                and bought.product_id <> also_bought.product_id
        group by bought.product_id, also_bought.product_id

    ),

    views_before_baskets as (

        -- the products the buyer viewed in the window before the order, not bought in it
        select
            baskets.basket_id,
            views.product_id,
            max(views.occurred_at) as last_viewed_at
        from baskets
        inner join {{ interactions }} as views
            on
                baskets.person_id = views.person_id
                and views.interaction = 'product_view'
                and views.occurred_at <= baskets.occurred_at
                and views.occurred_at
                > {{ dbt.dateadd('hour', -1 * var('recommendation_view_window_hours'), 'baskets.occurred_at') }}
        left join basket_products as in_basket
            on
                baskets.basket_id = in_basket.basket_id
                and views.product_id = in_basket.product_id
        where in_basket.basket_id is null
        group by baskets.basket_id, views.product_id

    ),

    capped_views as (

        select basket_id, product_id
        from (
            select
                views_before_baskets.*,
                row_number() over (
                    partition by basket_id order by last_viewed_at desc, product_id asc
                ) as view_position
            from views_before_baskets
        ) as positioned
        where view_position <= {{ max_basket }}

    ),

    viewed_then_bought as (

        select
            capped_views.product_id,
            bought.product_id as associated_product_id,
            0 as co_bought_baskets,
            count(*) as viewed_then_bought_baskets
        from capped_views
        inner join basket_products as bought
            on capped_views.basket_id = bought.basket_id
        group by capped_views.product_id, bought.product_id

    ),

    pair_counts as (

        select
            product_id,
            associated_product_id,
            sum(co_bought_baskets) as co_bought_baskets,
            sum(viewed_then_bought_baskets) as viewed_then_bought_baskets
        from (
            select * from co_bought
            union all
            select * from viewed_then_bought
        ) as pairs
        group by product_id, associated_product_id

    ),

    product_occurrences as (

        -- baskets a product was bought in, or viewed before without being bought
        select product_id, count(*) as basket_count
        from (
            select basket_id, product_id from basket_products
            union all
            select basket_id, product_id from capped_views
        ) as occurrences
        group by product_id

    ),

    product_purchases as (

        select product_id, count(*) as purchase_basket_count
        from basket_products
        group by product_id

    ),

    scored as (

        select
            pair_counts.product_id,
            pair_counts.associated_product_id,
            cast(pair_counts.co_bought_baskets as bigint) as co_bought_baskets,
            cast(pair_counts.viewed_then_bought_baskets as bigint) as viewed_then_bought_baskets,
            cast(pair_counts.co_bought_baskets + pair_counts.viewed_then_bought_baskets as bigint) as support,
            (pair_counts.co_bought_baskets + pair_counts.viewed_then_bought_baskets)
            / sqrt(
                cast(product_occurrences.basket_count as double)
                * product_purchases.purchase_basket_count
            ) as association_score
        from pair_counts
        inner join product_occurrences
            on pair_counts.product_id = product_occurrences.product_id
        inner join product_purchases
            on pair_counts.associated_product_id = product_purchases.product_id
        where
            pair_counts.co_bought_baskets + pair_counts.viewed_then_bought_baskets
            >= {{ var('recommendation_min_pair_support') }}

    )

    select *
    from (
        select
            scored.*,
            row_number() over (
                partition by product_id
                order by association_score desc, support desc, associated_product_id asc
            ) as neighbour_rank
        from scored
    ) as ranked
    where neighbour_rank <= {{ var('recommendation_neighbours') }}
{%- endmacro %}
