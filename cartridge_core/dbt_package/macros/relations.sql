{#-
  Relations and columns, read through the adapter so that any dbt adapter works.

  A relation argument is a string ("table", "schema.table", "database.schema.table"; a part may be
  double-quoted or backticked when it holds a dot), a mapping {database, schema, identifier}, or a
  Relation object. It is looked up in the warehouse, so names keep the case the warehouse gave them,
  and is then rendered fully quoted: mixed-case and spaced names work on every engine.
-#}

{% macro list_relations(schemas) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set result = adapter.dispatch('list_relations', 'cartridge')(schemas) -%}
  {%- do cartridge.emit_result('list_relations', result) -%}
  {{ return(result) }}
{% endmacro %}

{% macro default__list_relations(schemas) %}
  {%- set found = [] -%}
  {%- for schema_relation in cartridge.schema_relations(schemas) -%}
    {%- set listed = cartridge.relations_in_schema(schema_relation) -%}
    {%- for relation in listed | sort(attribute='identifier') -%}
      {%- do found.append(relation) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return({'relations': found}) }}
{% endmacro %}


{% macro list_columns(relation) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set result = adapter.dispatch('list_columns', 'cartridge')(relation) -%}
  {%- do cartridge.emit_result('list_columns', result) -%}
  {{ return(result) }}
{% endmacro %}

{% macro default__list_columns(relation) %}
  {%- set resolved = cartridge.resolve_relation(relation) -%}
  {%- set columns = [] -%}
  {%- for column in adapter.get_columns_in_relation(resolved) -%}
    {%- do columns.append({
      'name': column.name,
      'data_type': column.data_type,
      'kind': cartridge.column_kind(column),
    }) -%}
  {%- endfor -%}
  {{ return({'relation': cartridge.relation_dict(resolved), 'columns': columns}) }}
{% endmacro %}


{#- The relations of one schema as plain dicts. dbt's own `list_relations_without_caching` macro (the
    one each adapter fills its cache with) answers in a shape that differs per adapter. -#}
{% macro relations_in_schema(schema_relation) %}
  {{ return(adapter.dispatch('relations_in_schema', 'cartridge')(schema_relation)) }}
{% endmacro %}

{#- postgres, redshift, duckdb and most SQL adapters: an agate table (database, name, schema, type). -#}
{% macro default__relations_in_schema(schema_relation) %}
  {%- set listed = list_relations_without_caching(schema_relation) -%}
  {%- set found = [] -%}
  {%- for row in listed -%}
    {%- do found.append({
      'database': row['database'],
      'schema': row['schema'],
      'identifier': row['name'],
      'type': (row['type'] | string | lower) if row['type'] is not none else none,
    }) -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}

{#- Snowflake answers with the rows of SHOW TERSE OBJECTS: name, kind, database_name, schema_name. -#}
{% macro snowflake__relations_in_schema(schema_relation) %}
  {%- set listed = list_relations_without_caching(schema_relation) -%}
  {%- set found = [] -%}
  {%- for row in listed -%}
    {%- do found.append({
      'database': row['database_name'],
      'schema': row['schema_name'],
      'identifier': row['name'],
      'type': row['kind'] | lower,
    }) -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}

{#- BigQuery lists a dataset through its API; the adapter method is available to Jinja there. -#}
{% macro bigquery__relations_in_schema(schema_relation) %}
  {%- set found = [] -%}
  {%- for relation in adapter.list_relations_without_caching(schema_relation) -%}
    {%- do found.append(cartridge.relation_dict(relation)) -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}


{#- "schema", "database.schema", {database, schema}, or a list of those, as schema relations. -#}
{% macro schema_relations(schemas) %}
  {%- set wanted = [schemas] if (schemas is string or schemas is mapping) else schemas -%}
  {%- set relations = [] -%}
  {%- for spec in wanted -%}
    {%- if spec is mapping -%}
      {%- set database = spec.get('database') or target.database -%}
      {%- set schema = spec.get('schema') -%}
    {%- else -%}
      {%- set names = cartridge.split_name(spec) -%}
      {%- if names | length > 2 -%}
        {%- do exceptions.raise_compiler_error("cartridge: '" ~ spec ~ "' is not a schema name (expected 'schema' or 'database.schema')") -%}
      {%- endif -%}
      {%- set database = names[0] if names | length == 2 else target.database -%}
      {%- set schema = names[-1] -%}
    {%- endif -%}
    {%- if not schema -%}
      {%- do exceptions.raise_compiler_error("cartridge: a schema is missing in " ~ tojson(schemas)) -%}
    {%- endif -%}
    {%- do relations.append(api.Relation.create(database=database, schema=schema).without_identifier()) -%}
  {%- endfor -%}
  {{ return(relations) }}
{% endmacro %}


{% macro resolve_relation(relation) %}
  {%- if relation is not string and relation.render is defined -%}
    {%- set parts = {'database': relation.database, 'schema': relation.schema, 'identifier': relation.identifier} -%}
  {%- else -%}
    {%- set parts = cartridge.relation_parts(relation) -%}
  {%- endif -%}
  {%- set found = adapter.get_relation(database=parts.database, schema=parts.schema, identifier=parts.identifier) -%}
  {%- if found is none -%}
    {%- do exceptions.raise_compiler_error(
      "cartridge: relation " ~ parts.database ~ "." ~ parts.schema ~ "." ~ parts.identifier
      ~ " not found (or not visible to this target)") -%}
  {%- endif -%}
  {#- The warehouse's own spelling, always quoted: mixed case and spaces survive on every engine. -#}
  {{ return(found.quote(database=true, schema=true, identifier=true)) }}
{% endmacro %}

{% macro relation_parts(relation) %}
  {%- if relation is mapping -%}
    {%- set parts = {
      'database': relation.get('database') or target.database,
      'schema': relation.get('schema') or target.schema,
      'identifier': relation.get('identifier') or relation.get('name'),
    } -%}
  {%- elif relation is string -%}
    {%- set names = cartridge.split_name(relation) -%}
    {%- if names | length > 3 -%}
      {%- do exceptions.raise_compiler_error("cartridge: '" ~ relation ~ "' has more than three dotted parts; quote names that hold a dot") -%}
    {%- endif -%}
    {%- set parts = {
      'database': names[-3] if names | length == 3 else target.database,
      'schema': names[-2] if names | length >= 2 else target.schema,
      'identifier': names[-1] if names else none,
    } -%}
  {%- else -%}
    {%- do exceptions.raise_compiler_error("cartridge: a relation is a string, a mapping or a Relation, not " ~ relation) -%}
  {%- endif -%}
  {%- if not parts.identifier -%}
    {%- do exceptions.raise_compiler_error("cartridge: no table name in relation " ~ tojson(relation)) -%}
  {%- endif -%}
  {{ return(parts) }}
{% endmacro %}

{#- 'db."my.schema".t' -> ['db', 'my.schema', 't']: dots split, except inside "..." or `...`. -#}
{% macro split_name(name) %}
  {%- set names = [] -%}
  {%- for token in modules.re.findall('"(?:[^"]|"")*"|`[^`]*`|[^.]+', name) -%}
    {%- set token = token.strip() -%}
    {%- if token[:1] == '"' and token[-1:] == '"' and token | length > 1 -%}
      {%- set token = token[1:-1].replace('""', '"') -%}
    {%- elif token[:1] == '`' and token[-1:] == '`' and token | length > 1 -%}
      {%- set token = token[1:-1] -%}
    {%- endif -%}
    {%- do names.append(token) -%}
  {%- endfor -%}
  {{ return(names) }}
{% endmacro %}

{% macro relation_dict(relation) %}
  {{ return({
    'database': relation.database,
    'schema': relation.schema,
    'identifier': relation.identifier,
    'type': (relation.type | string) if relation.type else none,
  }) }}
{% endmacro %}


{#-
  What a column's type allows, from the type's name (the engines agree on these names closely
  enough): 'number', 'string', 'temporal' (min and max make sense), 'boolean', or 'other' (arrays,
  structs, JSON, binary, geometry, ...: counted as text, no min or max).
-#}
{% macro column_kind(column) %}
  {%- set type_name = (column.data_type or column.dtype or '') | lower | trim -%}
  {%- set end = '(?![a-z0-9_])' -%}
  {%- if '[' in type_name -%}
    {{ return('other') }}
  {%- elif modules.re.match('(bool|boolean|logical)' ~ end, type_name) -%}
    {{ return('boolean') }}
  {%- elif modules.re.match('(date|datetime|datetime2|smalldatetime|time|timetz|timestamp|timestamptz'
      ~ '|timestamp_ntz|timestamp_ltz|timestamp_tz|timestamp_s|timestamp_ms|timestamp_ns|interval)' ~ end, type_name) -%}
    {{ return('temporal') }}
  {%- elif modules.re.match('(tinyint|smallint|mediumint|int|integer|bigint|hugeint|uhugeint|utinyint|usmallint'
      ~ '|uinteger|ubigint|int1|int2|int4|int8|int16|int32|int64|int128|byteint|decimal|numeric|bignumeric'
      ~ '|bigdecimal|number|real|float|float4|float8|float32|float64|double|money)' ~ end, type_name) -%}
    {{ return('number') }}
  {%- elif modules.re.match('(varchar|char|character|nvarchar|nchar|bpchar|text|string|citext|name|clob'
      ~ '|varchar2|nvarchar2)' ~ end, type_name) -%}
    {{ return('string') }}
  {%- else -%}
    {{ return('other') }}
  {%- endif -%}
{% endmacro %}


{#- Print the result as one JSON line, {"macro": "cartridge.<name>", "result": ...}: what
    `dbt run-operation` users and Cartridge read. `print` reaches stdout even under --quiet. -#}
{% macro emit_result(name, result) %}
  {%- do print(tojson({'macro': 'cartridge.' ~ name, 'result': result})) -%}
{% endmacro %}
