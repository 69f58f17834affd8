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
