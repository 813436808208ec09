"""Reading mapping files: safe YAML with line numbers, ``extends`` merging, CSV lookup tables, the loader."""
