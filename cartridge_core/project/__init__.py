"""The dbt project on disk: discovery, profiles, file changes."""
