{#- `value` at `reference` decayed to `at`: value * 0.5 ^ (days from reference to at / half-life).
    A sum of decayed points at t0 is the same sum at t times 0.5 ^ ((t - t0) / half-life). -#}
{% macro half_life_decay(value, reference, at, half_life_days) -%}
    {{ value }} * exp(
        -ln(2.0) * {{ fractional_days_between(reference, at) }}
        / {{ half_life_days }}
    )
{%- endmacro %}
