-- one row per calendar day from 2000-01-01 through 2039-12-31 (14,610 days): the day-grain
-- time spine MetricFlow joins metrics to (metric_time, cumulative and offset metrics).
-- Plain SQL on every engine: ten digits cross-joined into day numbers, and date + integer,
-- which DuckDB and Spark both read as a date that many days later.
with

digits as (

    select digit_values.digit
    from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as digit_values (digit)

),

day_numbers as (

    select
        ten_thousands.digit * 10000
        + thousands.digit * 1000
        + hundreds.digit * 100
        + tens.digit * 10
        + units.digit as day_number
    from digits as ten_thousands
    cross join digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as units

),

days as (

    select cast('2000-01-01' as date) + day_numbers.day_number as date_day
    from day_numbers

)

select cast(days.date_day as date) as date_day
from days
where days.date_day <= cast('2039-12-31' as date)
