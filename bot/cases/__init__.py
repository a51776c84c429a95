"""Case data: the provider that answers status lookups, and the CSV import."""
