{#- Warns for each received day in which raw event rows arrived after the day had left the
    incremental lookback window (audit_raw_arrivals): they were reloaded, but the
    loader is late by more than var incremental_lookback_days. Applied to the ledger; reports the latest run. -#}
{% test no_late_arrivals_beyond_window(model) %}
{{ config(severity='warn') }}

select
    source_table,
    received_date,
    late_rows,
    observed_at
from {{ model }}
where
    late_rows > 0
    -- the latest run's arrivals: older ones were reported when they came
    and observed_at = (select max(observed_at) from {{ model }})

{% endtest %}
