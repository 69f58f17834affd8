{#- True when the normalised e-mail `column` matches a like-pattern of var
    identity_email_denylist: an address many unrelated people give (noreply@..., the shop's
    own), which must not merge their records (int_customers_merged). -#}
{% macro email_is_placeholder(column) -%}
    {%- set patterns = var('identity_email_denylist') or [] -%}
    {%- if patterns is string -%}
        {{ exceptions.raise_compiler_error("var identity_email_denylist must be a list of like-patterns, got " ~ patterns) }}
    {%- endif -%}
    {%- if patterns | length == 0 -%}
        false
    {%- else -%}
        ({% for pattern in patterns %}{{ column }} like {{ sql_string(pattern | lower) }}{{ ' or ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- The persons a change of identity since `since` touches: the person a record now belongs
    to and the one it left (int_customers_identity_tracked). A union branch for the models
    that recompute per person. -#}
{% macro persons_with_identity_changes(since) -%}
    select identity_changes.person_id
    from {{ ref('int_customers_identity_tracked') }} as identity_changes
    where identity_changes.loaded_at > {{ since }}

    union

    select identity_changes.previous_person_id
    from {{ ref('int_customers_identity_tracked') }} as identity_changes
    where identity_changes.loaded_at > {{ since }} and identity_changes.previous_person_id is not null
{%- endmacro %}
