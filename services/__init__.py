"""The services of the pipeline: registration, vouchers, control, notify and support."""
