"""The mapping's rules beyond one-field rules: the trigger and the multi-field plug-ins (see registry.py)."""
