# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv and install the pinned dependencies (requirements.lock) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ONLINE_RETAIL ?= ../shared/datasets/online_retail/online_retail.parquet

export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

SPARK_STAMP := $(VENV)/.spark-installed-stamp

.PHONY: setup setup-spark run-spark test-spark bench-spark run test lint refresh append run-online-retail bench bench-activation bench-content bench-performance bench-predictions bench-refresh bench-load bench-generate report docs clean

$(STAMP): requirements.lock pyproject.toml
	@echo "==> creating $(VENV) and installing pinned dependencies (requirements.lock)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

## make setup-spark: the optional Spark target on top of setup (dbt-spark, pyspark: about
## 450 MB; needs Java 17, which .ci/run installs when it is missing)
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	@echo "==> installing the Spark target (requirements-spark.lock)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-spark.lock
	@touch $(SPARK_STAMP)

setup-spark: $(SPARK_STAMP)

## make run: demo data if data/raw is empty, dbt build on DuckDB, a short summary
run: setup
	$(BIN)/segmentation run

## make test: the whole suite (pytest drives the generator and dbt; sqlfluff and ruff run inside it)
test: setup
	$(BIN)/python -m pytest

## make test-spark: the Spark tests (Spark builds and refreshes equal DuckDB's, table by table)
test-spark: setup-spark
	$(BIN)/python -m pytest -m spark

## make run-spark: demo data if data/raw is empty, then dbt build on the local Spark target
run-spark: setup-spark
	$(BIN)/segmentation run --target spark

## make refresh: the scheduled job (lock, source freshness, incremental build + tests,
## history, publish to data/published.duckdb, one line appended to data/refresh.log)
refresh: setup
	$(BIN)/segmentation refresh

## make append DAYS=1: add the next days of demo data (late and duplicate events included);
## AUDIENCES=1: the e-mail platform also sends weekly campaigns to the warehouse's audiences
## (their treatment members; the holdouts get nothing), for campaign_uplift
append: setup
	$(BIN)/segmentation generate --append --days $(or $(DAYS),1) \
		$(if $(AUDIENCES),--audiences-from $(or $(SEGMENTATION_DB_PATH),data/customer_segmentation.duckdb))

lint: setup
	$(BIN)/ruff check src tests/python bench
	$(BIN)/sqlfluff lint models

## build on the real UCI Online Retail data (transactions only)
run-online-retail: setup
	$(BIN)/segmentation import online-retail $(ONLINE_RETAIL) --out data/online_retail/raw
	SEGMENTATION_RAW_DIR=data/online_retail/raw SEGMENTATION_DB_PATH=data/online_retail.duckdb \
		$(BIN)/segmentation run --as-of "2011-12-10 00:00:00"

## make bench SIZE=10k|100k|1m: generate, full dbt build, peak memory, floor comparison (JSON + table)
bench: setup
	$(BIN)/python bench/run_bench.py --size $(or $(SIZE),100k)

## make bench-predictions SIZE=1m: the point-in-time snapshots and the prediction models alone
bench-predictions: setup
	$(BIN)/python bench/bench_predictions.py --size $(or $(SIZE),100k)

## make bench-performance SIZE=1m: the performance models alone (LOOP=100000: an uplift loop
## of that many customers, measured against the planted e-mail effect per persona)
bench-performance: setup
	$(BIN)/python bench/bench_performance.py --size $(or $(SIZE),100k) $(if $(LOOP),--loop $(LOOP))

## make bench-content SIZE=1m: affinities, abandoned products, associations, recommendations
## and their evaluation alone
bench-content: setup
	$(BIN)/python bench/bench_content.py --size $(or $(SIZE),100k)

## make bench-activation SIZE=1m: export and sync of the audiences, full and one day's changes
bench-activation: setup
	$(BIN)/python bench/bench_activation.py --size $(or $(SIZE),100k)

## make bench-refresh SIZE=1m: full build vs one refresh after a new day, at 180 and 365 days of history
bench-refresh: setup
	$(BIN)/python bench/bench_refresh.py --size $(or $(SIZE),100k)

## make bench-load CUSTOMERS=20000 REFRESHES=20: refreshes in a row, one new day each: time and file sizes
bench-load: setup
	$(BIN)/python bench/bench_refresh_load.py --customers $(or $(CUSTOMERS),20000) --refreshes $(or $(REFRESHES),20)

## make bench-spark SIZE=10k|100k: Spark against DuckDB (build, refresh, peak memory, equal tables)
bench-spark: setup-spark
	$(BIN)/python bench/bench_spark.py --size $(or $(SIZE),10k)

report: setup
	$(BIN)/segmentation report --out reports

bench-generate: setup
	$(BIN)/python bench/bench_generate.py --customers $(or $(CUSTOMERS),100000)

docs: setup
	$(BIN)/dbt docs generate

clean:
	rm -rf data/spark-warehouse data/spark-metastore
	rm -rf target logs data/customer_segmentation.duckdb data/customer_segmentation_work.duckdb data/published.duckdb
