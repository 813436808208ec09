"""The expression language of mapping files: JMESPath expressions, their compiled form, named transforms, values."""
