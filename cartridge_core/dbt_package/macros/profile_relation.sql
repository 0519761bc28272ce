{#-
  Profile one relation's columns in ONE select (never one per column): row count, and per column
  null count, distinct count, min and max (as text, for numbers, strings and dates/times). Then, in a
  second select, the `top_n` most frequent values of its low-cardinality columns (at most
  `top_values_max_distinct` distinct values, some repeated); top_n=0 skips that second select.
  Only selects: nothing is written to the warehouse.
-#}

{% macro profile_relation(relation, columns=none, sample_percent=none, top_n=5, top_values_max_distinct=50) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set result = adapter.dispatch('profile_relation', 'cartridge')(
    relation, columns, sample_percent, top_n, top_values_max_distinct) -%}
  {%- do cartridge.emit_result('profile_relation', result) -%}
  {{ return(result) }}
{% endmacro %}

{% macro default__profile_relation(relation, columns, sample_percent, top_n, top_values_max_distinct) %}
  {%- set resolved = cartridge.resolve_relation(relation) -%}
  {%- set plan = cartridge.profile_plan(resolved, columns) -%}
  {%- set source = cartridge.sample_source(resolved, sample_percent) -%}
  {%- set row = run_query(cartridge.profile_sql(source, plan)).rows[0] -%}
  {%- set row_count = row[0] | int -%}
  {%- set profiles = [] -%}
  {%- for item in plan -%}
    {%- do profiles.append(cartridge.column_profile(item, row, 1 + 4 * loop.index0, row_count)) -%}
  {%- endfor -%}
  {%- do cartridge.add_top_values(source, plan, profiles, top_n | int, top_values_max_distinct | int) -%}
  {{ return({
    'relation': cartridge.relation_dict(resolved),
    'row_count': row_count,
    'sample_percent': (sample_percent | float) if sample_percent is not none else none,
    'distinct_approximate': cartridge.count_distinct_is_approximate(),
    'columns': profiles,
  }) }}
{% endmacro %}


{#- The columns to profile, in the relation's order, each with its quoted name and kind. -#}
{% macro profile_plan(relation, columns) %}
  {%- set available = adapter.get_columns_in_relation(relation) -%}
  {%- set chosen = [] -%}
  {%- if columns is not none -%}
    {%- for name in ([columns] if columns is string else columns) -%}
      {%- do chosen.append(cartridge.find_column(relation, name, available).name) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set plan = [] -%}
  {%- for column in available -%}
    {%- if columns is none or column.name in chosen -%}
      {%- do plan.append({
        'column': column,
        'kind': cartridge.column_kind(column),
        'quoted': adapter.quote(column.name),
      }) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(plan) }}
{% endmacro %}

{#- One row: count(*), then four values per column (non-null count, distinct count, min, max), read
    back by position (engines fold unquoted alias case differently). -#}
{% macro profile_sql(source, plan) %}
  {%- set null_text = cartridge.to_text('null') -%}
  select
    count(*) as row_count
  {%- for item in plan %}
    {%- set quoted = item.quoted -%}
    {%- set counted = cartridge.comparable_text(quoted, item.column) if item.kind == 'other' else quoted %}
    , count({{ quoted }}) as c{{ loop.index0 }}_non_null
    , {{ cartridge.count_distinct(counted) }} as c{{ loop.index0 }}_distinct
    {%- if item.kind in ('number', 'string', 'temporal') %}
    , {{ cartridge.to_text('min(' ~ quoted ~ ')') }} as c{{ loop.index0 }}_min
    , {{ cartridge.to_text('max(' ~ quoted ~ ')') }} as c{{ loop.index0 }}_max
    {%- else %}
    , {{ null_text }} as c{{ loop.index0 }}_min
    , {{ null_text }} as c{{ loop.index0 }}_max
    {%- endif %}
  {%- endfor %}
  from {{ source }}
{% endmacro %}

{% macro column_profile(item, row, first, row_count) %}
  {%- set non_null = row[first] | int -%}
  {%- set nulls = row_count - non_null -%}
  {{ return({
    'name': item.column.name,
    'data_type': item.column.data_type,
    'kind': item.kind,
    'non_null_count': non_null,
    'null_count': nulls,
    'null_fraction': (nulls / row_count) if row_count > 0 else none,
    'distinct_count': (row[first + 1] | int) if row[first + 1] is not none else none,
    'min': cartridge.short_text(row[first + 2]),
    'max': cartridge.short_text(row[first + 3]),
    'top_values': none,
  }) }}
{% endmacro %}

{#- Long text values are cut at 256 characters: a profile shows the range, not the payload. -#}
{% macro short_text(value) %}
  {{ return(none if value is none else (value | string)[:256]) }}
{% endmacro %}


{#- The second select: the most frequent values of each low-cardinality column, all columns in one
    statement (one grouped branch per column, ranked with a window function). -#}
{% macro add_top_values(source, plan, profiles, top_n, max_distinct) %}
  {%- set chosen = [] -%}
  {%- for item in plan -%}
    {%- set profile = profiles[loop.index0] -%}
    {%- if top_n > 0 and item.kind != 'other' and profile.distinct_count is not none
        and 0 < profile.distinct_count <= max_distinct
        and profile.distinct_count < profile.non_null_count -%}
      {%- do chosen.append(loop.index0) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not chosen -%}{{ return(none) }}{%- endif -%}
  {%- for index in chosen -%}
    {%- do profiles[index].update({'top_values': []}) -%}
  {%- endfor -%}
  {%- for row in run_query(cartridge.top_values_sql(source, plan, chosen, top_n)).rows -%}
    {%- do profiles[row[0] | int].top_values.append({'value': cartridge.short_text(row[1]), 'count': row[2] | int}) -%}
  {%- endfor -%}
{% endmacro %}

{% macro top_values_sql(source, plan, chosen, top_n) %}
  with cartridge_source as (
    select * from {{ source }}
  ),
  cartridge_counted as (
  {%- for index in chosen %}
    {%- set quoted = plan[index].quoted %}
    {{ 'union all' if not loop.first }}
    select {{ index }} as column_index, {{ cartridge.to_text(quoted) }} as column_value, count(*) as frequency
    from cartridge_source
    where {{ quoted }} is not null
    group by {{ quoted }}
  {%- endfor %}
  ),
  cartridge_ranked as (
    select column_index, column_value, frequency,
      row_number() over (partition by column_index order by frequency desc, column_value) as value_rank
    from cartridge_counted
  )
  select column_index, column_value, frequency
  from cartridge_ranked
  where value_rank <= {{ top_n }}
  order by column_index, value_rank
{% endmacro %}
