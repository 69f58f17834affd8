{#- The content fit (docs/content.md): the product associations, the popularity lists and the
    offline evaluation are global, so a refresh that recomputed them would read every
    interaction. Like the cluster centres and the CLV parameters they are refitted on a
    cadence: when product_associations was fitted recommendation_refit_every_days or more
    before as_of, when the settings, the interaction weights or the product catalogue changed
    (fit_config), or on a full build; otherwise they stay as they are. Every content fit table
    stamps fitted_as_of and fit_config on its rows; the models that follow the fit
    (product_popularity, recommendation_evaluation, customer_recommendations) refit, or
    recompute everyone, when their stamp differs from product_associations'. -#}

{#- The fingerprint of what the fit depends on besides the data: the recommendation and
    affinity vars, the seed affinity_weights and the product catalogue (a name, category,
    brand or price change refits, so every recommendation shows the current product). -#}
{% macro content_fit_config() -%}
    {%- set settings = {} -%}
    {%- for name in [
        'affinity_half_life_days', 'recommendation_count', 'recommendation_seed_products',
        'recommendation_neighbours', 'recommendation_min_pair_support',
        'recommendation_max_basket_products', 'recommendation_view_window_hours',
        'recommendation_popularity_days', 'recommendation_popularity_weight',
        'recommendation_repeatable_categories', 'recommendation_evaluation_days',
    ] -%}
        {%- do settings.update({name: var(name)}) -%}
    {%- endfor -%}
    {%- do settings.update({'products': product_catalogue_digest()}) -%}
    {%- do settings.update({'affinity_weights': affinity_weights_text()}) -%}
    {{ return(local_md5(tojson(settings, sort_keys=true))) }}
{%- endmacro %}

{#- (fitted_as_of text, fit_config) of a content fit table, or none when it is not built or
    empty; `before_this_run`: of its rows written before this run (loaded_at). -#}
{% macro content_fit_of(relation, before_this_run=false) -%}
    {%- if not execute or load_relation(relation) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set row = run_query(
        "select cast(max(fitted_as_of) as " ~ dbt.type_string() ~ "), max(fit_config) from " ~ relation
        ~ (" where loaded_at < " ~ loaded_at() if before_this_run else "")
    ).rows[0] -%}
    {{ return(none if row[0] is none else (row[0][:19], row[1])) }}
{%- endmacro %}

{#- product_associations: does this run refit? A full build, an empty table, another
    fit_config, a refit cadence of 0, or a fit recommendation_refit_every_days or more
    before as_of (or after it: as_of moved back) do. -#}
{% macro content_fit_is_due() -%}
    {%- if not is_incremental() or var('recommendation_refit_every_days') | int <= 0 -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set fit = content_fit_of(this) -%}
    {%- if fit is none or fit[1] != content_fit_config() -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(refit_is_due(fit[0], fit[0], var('recommendation_refit_every_days'))) }}
{%- endmacro %}

{#- A model that follows the fit: does this run recompute it whole? Yes on a full build,
    when it is empty, or when its stamp is not product_associations' (refitted this run).
    `before_this_run`: judged on the rows written before this run, so that a post-hook sees
    what the model's select saw (customer_recommendations). -#}
{% macro content_fit_changed(before_this_run=false) -%}
    {%- if not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set own = content_fit_of(this, before_this_run) -%}
    {{ return(own is none or own != content_fit_of(ref('product_associations'))) }}
{%- endmacro %}

{#- The stamp of the current fit (one row: fitted_as_of, fit_config), for the models that
    follow it. -#}
{% macro content_fit_stamp() -%}
    select
        max(fitted_as_of) as fitted_as_of,
        max(fit_config) as fit_config
    from {{ ref('product_associations') }}
{%- endmacro %}
