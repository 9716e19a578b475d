"""Activities: one side effect each (a QBO operation or a store write), idempotent under retry."""
