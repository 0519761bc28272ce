{#-
  How many of the child column's non-null values occur in the parent column: the evidence for a
  relationships test (child_found = child_non_null means every value has a parent). One select. With
  sample_percent only the child is sampled; the parent is always read whole, or values in the
  sample would look orphaned.
-#}

{% macro check_containment(child_relation, child_column, parent_relation, parent_column, sample_percent=none) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set result = adapter.dispatch('check_containment', 'cartridge')(
    child_relation, child_column, parent_relation, parent_column, sample_percent) -%}
  {%- do cartridge.emit_result('check_containment', result) -%}
  {{ return(result) }}
{% endmacro %}

{% macro default__check_containment(child_relation, child_column, parent_relation, parent_column, sample_percent) %}
  {%- set child = cartridge.resolve_relation(child_relation) -%}
  {%- set parent = cartridge.resolve_relation(parent_relation) -%}
  {%- set child_col = cartridge.find_column(child, child_column) -%}
  {%- set parent_col = cartridge.find_column(parent, parent_column) -%}
  {%- set sql = cartridge.containment_sql(
    cartridge.sample_source(child, sample_percent), child_col, parent, parent_col) -%}
  {%- set row = run_query(sql).rows[0] -%}
  {%- set non_null = row[0] | int -%}
  {%- set found = row[1] | int -%}
  {{ return({
    'child': cartridge.relation_dict(child),
    'child_column': child_col.name,
    'parent': cartridge.relation_dict(parent),
    'parent_column': parent_col.name,
    'sample_percent': (sample_percent | float) if sample_percent is not none else none,
    'child_non_null': non_null,
    'child_found': found,
    'share': (found / non_null) if non_null > 0 else none,
  }) }}
{% endmacro %}

{#- Values of the same kind are compared as they are (an integer key matches a numeric one);
    otherwise both sides are compared as text, which every engine can do. -#}
{% macro containment_sql(child_source, child_col, parent, parent_col) %}
  {%- set child_quoted = adapter.quote(child_col.name) -%}
  {%- set parent_quoted = adapter.quote(parent_col.name) -%}
  {%- set child_kind = cartridge.column_kind(child_col) -%}
  {%- set same_kind = child_kind == cartridge.column_kind(parent_col) and child_kind != 'other' -%}
  {%- set child_value = child_quoted if same_kind else cartridge.comparable_text(child_quoted, child_col) -%}
  {%- set parent_value = parent_quoted if same_kind else cartridge.comparable_text(parent_quoted, parent_col) -%}
  with cartridge_child as (
    select {{ child_value }} as cartridge_value
    from {{ child_source }}
    where {{ child_quoted }} is not null
  ),
  cartridge_parent as (
    select distinct {{ parent_value }} as cartridge_value
    from {{ parent }}
    where {{ parent_quoted }} is not null
  )
  select count(*) as child_non_null, count(cartridge_parent.cartridge_value) as child_found
  from cartridge_child
  left join cartridge_parent
    on cartridge_child.cartridge_value = cartridge_parent.cartridge_value
{% endmacro %}

{#- A column of `relation` by name: exactly as written, else ignoring case (Snowflake upper-cases). -#}
{% macro find_column(relation, name, columns=none) %}
  {%- set columns = adapter.get_columns_in_relation(relation) if columns is none else columns -%}
  {%- for column in columns if column.name == name -%}
    {{ return(column) }}
  {%- endfor -%}
  {%- for column in columns if column.name | lower == name | lower -%}
    {{ return(column) }}
  {%- endfor -%}
  {%- do exceptions.raise_compiler_error("cartridge: column '" ~ name ~ "' not found in " ~ relation) -%}
{% endmacro %}
