{#-
  The few pieces of SQL that differ between warehouses, each dispatched. Everything else in this
  package is plain SQL all engines accept. Redshift's parent adapter is postgres, so where Redshift
  differs from PostgreSQL it has its own variant.
-#}


{#- What to select from: the relation itself, or a sample of about `sample_percent` % of its rows. -#}
{% macro sample_source(relation, sample_percent) %}
  {%- if sample_percent is none -%}
    {{ return(relation | string) }}
  {%- endif -%}
  {%- set percent = cartridge.checked_percent(sample_percent) -%}
  {{ return(adapter.dispatch('sample_source', 'cartridge')(relation, percent)) }}
{% endmacro %}

{#- No portable sampling clause: keep each row with probability p (a full scan, but less to aggregate). -#}
{% macro default__sample_source(relation, percent) %}
  {{ return('(select * from ' ~ relation ~ ' where random() < ' ~ (percent / 100) ~ ') as cartridge_sample') }}
{% endmacro %}

{#- PostgreSQL: TABLESAMPLE SYSTEM reads only p % of the table's pages; it works on tables and
    materialized views only, so views fall back to a random() filter. -#}
{% macro postgres__sample_source(relation, percent) %}
  {%- if relation.is_view -%}
    {{ return(cartridge.default__sample_source(relation, percent)) }}
  {%- endif -%}
  {{ return('(select * from ' ~ relation ~ ' tablesample system (' ~ percent ~ ')) as cartridge_sample') }}
{% endmacro %}

{#- DuckDB: USING SAMPLE p% (system sampling by vectors of rows); works on views too. -#}
{% macro duckdb__sample_source(relation, percent) %}
  {{ return('(select * from ' ~ relation ~ ' using sample ' ~ percent ~ '%) as cartridge_sample') }}
{% endmacro %}

{#- Snowflake: SAMPLE (p) keeps each row with probability p % (Bernoulli); tables and views. -#}
{% macro snowflake__sample_source(relation, percent) %}
  {{ return('(select * from ' ~ relation ~ ' sample (' ~ percent ~ ')) as cartridge_sample') }}
{% endmacro %}

{#- BigQuery: TABLESAMPLE SYSTEM (p PERCENT) reads a share of the table's blocks (and bills only
    those); it cannot sample a view, so views keep rows with rand() instead. -#}
{% macro bigquery__sample_source(relation, percent) %}
  {%- if relation.is_view -%}
    {{ return('(select * from ' ~ relation ~ ' where rand() < ' ~ (percent / 100) ~ ') as cartridge_sample') }}
  {%- endif -%}
  {{ return('(select * from ' ~ relation ~ ' tablesample system (' ~ percent ~ ' percent)) as cartridge_sample') }}
{% endmacro %}

{#- Redshift has no sampling clause: a random() filter. -#}
{% macro redshift__sample_source(relation, percent) %}
  {{ return(cartridge.default__sample_source(relation, percent)) }}
{% endmacro %}

{% macro checked_percent(sample_percent) %}
  {%- set percent = sample_percent | float(-1) -%}
  {%- if percent <= 0 or percent > 100 -%}
    {%- do exceptions.raise_compiler_error("cartridge: sample_percent must be a number in (0, 100], not " ~ sample_percent) -%}
  {%- endif -%}
  {{ return(percent) }}
{% endmacro %}


{#- Count the distinct non-null values of `expression`: approximately where the engine has a cheap
    estimator (HyperLogLog), exactly elsewhere. -#}
{% macro count_distinct(expression) %}
  {{ return(adapter.dispatch('count_distinct', 'cartridge')(expression)) }}
{% endmacro %}

{% macro default__count_distinct(expression) %}
  {{ return('count(distinct ' ~ expression ~ ')') }}
{% endmacro %}

{#- PostgreSQL has no approximate distinct count built in: exact (sample to make it cheaper). -#}
{% macro postgres__count_distinct(expression) %}
  {{ return('count(distinct ' ~ expression ~ ')') }}
{% endmacro %}

{% macro duckdb__count_distinct(expression) %}
  {{ return('approx_count_distinct(' ~ expression ~ ')') }}
{% endmacro %}

{% macro snowflake__count_distinct(expression) %}
  {{ return('approx_count_distinct(' ~ expression ~ ')') }}
{% endmacro %}

{% macro bigquery__count_distinct(expression) %}
  {{ return('approx_count_distinct(' ~ expression ~ ')') }}
{% endmacro %}

{% macro redshift__count_distinct(expression) %}
  {{ return('approximate count(distinct ' ~ expression ~ ')') }}
{% endmacro %}

{#- Whether count_distinct above estimates (true) or counts exactly (false). -#}
{% macro count_distinct_is_approximate() %}
  {{ return(adapter.dispatch('count_distinct_is_approximate', 'cartridge')()) }}
{% endmacro %}

{% macro default__count_distinct_is_approximate() %}{{ return(false) }}{% endmacro %}
{% macro postgres__count_distinct_is_approximate() %}{{ return(false) }}{% endmacro %}
{% macro duckdb__count_distinct_is_approximate() %}{{ return(true) }}{% endmacro %}
{% macro snowflake__count_distinct_is_approximate() %}{{ return(true) }}{% endmacro %}
{% macro bigquery__count_distinct_is_approximate() %}{{ return(true) }}{% endmacro %}
{% macro redshift__count_distinct_is_approximate() %}{{ return(true) }}{% endmacro %}


{#- `expression` as text, for min/max values and most frequent values. -#}
{% macro to_text(expression) %}
  {{ return(adapter.dispatch('to_text', 'cartridge')(expression)) }}
{% endmacro %}

{% macro default__to_text(expression) %}
  {{ return('cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')') }}
{% endmacro %}

{#- Redshift's bare varchar is varchar(256): long values would not fit. -#}
{% macro redshift__to_text(expression) %}
  {{ return('cast(' ~ expression ~ ' as varchar(65535))') }}
{% endmacro %}


{#- A text form of a value of kind 'other' (arrays, structs, JSON, binary, ...) that can be compared
    and grouped, so its distinct values can be counted on every engine. -#}
{% macro comparable_text(expression, column) %}
  {{ return(adapter.dispatch('comparable_text', 'cartridge')(expression, column)) }}
{% endmacro %}

{% macro default__comparable_text(expression, column) %}
  {{ return(cartridge.to_text(expression)) }}
{% endmacro %}

{#- BigQuery cannot cast ARRAY, STRUCT or JSON to STRING; TO_JSON_STRING takes any type. -#}
{% macro bigquery__comparable_text(expression, column) %}
  {{ return('to_json_string(' ~ expression ~ ')') }}
{% endmacro %}

{#- Snowflake: TO_VARCHAR renders VARIANT, OBJECT and ARRAY values as JSON text. -#}
{% macro snowflake__comparable_text(expression, column) %}
  {{ return('to_varchar(' ~ expression ~ ')') }}
{% endmacro %}

{#- Redshift: a SUPER value is serialised with JSON_SERIALIZE; a cast only takes scalars. -#}
{% macro redshift__comparable_text(expression, column) %}
  {%- if (column.data_type or column.dtype or '') | lower == 'super' -%}
    {{ return('json_serialize(' ~ expression ~ ')') }}
  {%- endif -%}
  {{ return(cartridge.to_text(expression)) }}
{% endmacro %}
