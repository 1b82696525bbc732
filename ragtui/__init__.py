"""ragtui: an offline terminal chat over your own documents."""
