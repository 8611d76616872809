"""Support requests: units ask their treasury office, officers answer (docs/contract.md §10)."""
